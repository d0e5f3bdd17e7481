"""Images in and out of requests, for every image handler.

In: a request carries an image as the raw body (any format PIL reads), as a multipart file
upload, or as JSON with a base64 `image` field; its other parameters come from the JSON or from the
multipart form fields (TorchServe 0.12 does not pass a query string to handlers).
Images are checked before their pixels are decoded: a pixel
limit stops decompression bombs, and bytes that are not a complete image get a 400.

Out: uint8 image tensors become PNG bytes, one per image or tiled in a grid.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
import struct
from typing import Any

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from handlers.request_handler import RequestError, utf8_text

# Where TorchServe puts an image: "body" for a raw body, the field name for a multipart upload.
IMAGE_KEYS = ("body", "data", "image", "file")


def image_request(request: dict[str, Any]) -> tuple[bytes, dict[str, Any]]:
    """(image bytes, the request's other parameters) from one TorchServe request."""
    body = request.get("body", request.get("data"))
    if isinstance(body, dict):  # JSON, decoded by TorchServe
        params = dict(body)
        data = base64_image("image", params.pop("image", None))
        if data is None:
            raise RequestError("'image' must be a base64-encoded image", "image", "base64 image bytes")
        return data, params
    images = [request[key] for key in IMAGE_KEYS if isinstance(request.get(key), (bytes, bytearray))]
    if not images or not images[0]:
        raise RequestError("the request has no image: send image bytes, a multipart file named "
                           "'image', or JSON with a base64 'image'", "image", "an image PIL can read")
    if len(images) > 1:
        raise RequestError(f"the request has {len(images)} images; send one", "image", "one image")
    params = {name: form_value(value) for name, value in request.items() if name not in IMAGE_KEYS}
    return bytes(images[0]), params


def base64_image(name: str, value: Any) -> bytes | None:
    """The bytes of a JSON field holding a base64 image, None if the field is absent."""
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise RequestError(f"'{name}' must be a base64-encoded image", name, "base64 image bytes")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise RequestError(f"'{name}' is not valid base64", name, "base64 image bytes") from None


def form_value(value: Any) -> Any:
    """A form field's value: a number if it reads as one, else text."""
    if isinstance(value, (bytes, bytearray)):
        value = utf8_text(value, "a form field is not UTF-8 text")
    if isinstance(value, str):
        try:
            return json.loads(value)
        except (ValueError, RecursionError):  # not JSON, too many digits, nested too deeply: text
            return value
    return value


def decode_image(data: bytes, max_pixels: int) -> Image.Image:
    """An RGB PIL image, or a RequestError saying why the bytes are not one."""
    if not data:
        raise RequestError("the image is empty", "image", "an image PIL can read")
    try:
        image = Image.open(io.BytesIO(data))  # reads the header only
    except UnidentifiedImageError:
        raise RequestError("the bytes are not an image PIL can read", "image",
                           "an image PIL can read") from None
    # A header cut short or lying (PIL's plugins raise any of these; a DecompressionBombError for a
    # header that claims more than twice PIL's own pixel limit).
    except (OSError, SyntaxError, ValueError, struct.error, Image.DecompressionBombError) as error:
        raise RequestError(f"the image could not be decoded ({error})", "image", "a complete image") from None
    width, height = image.size
    if width * height > max_pixels:
        raise RequestError(f"the image has {width}x{height} = {width * height} pixels; the limit is "
                           f"{max_pixels}", "image", f"at most {max_pixels} pixels")
    try:
        image.load()
    except (OSError, SyntaxError, ValueError, struct.error, IndexError, Image.DecompressionBombError) as error:
        raise RequestError(f"the image could not be decoded ({error})", "image",
                           "a complete image") from None
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image.convert("RGBA"))
    return image.convert("RGB")


def image_tensor(image: Image.Image) -> torch.Tensor:
    """uint8 (3, H, W)."""
    return torch.from_numpy(np.asarray(image, dtype=np.uint8).copy()).permute(2, 0, 1)


def encode_png(image: torch.Tensor) -> bytes:
    """uint8 (C, H, W) with C = 1 or 3 -> PNG bytes."""
    array = image.permute(1, 2, 0).cpu().numpy()
    pil = Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array)
    buffer = io.BytesIO()
    pil.save(buffer, format="PNG")
    return buffer.getvalue()


def encode_png_base64(image: torch.Tensor) -> str:
    """uint8 (C, H, W) -> PNG bytes as base64 text, for JSON answers."""
    return base64.b64encode(encode_png(image)).decode("ascii")


def grid(images: torch.Tensor, padding: int = 2) -> torch.Tensor:
    """uint8 (N, C, H, W) -> one uint8 (C, rows*(H+p)+p, cols*(W+p)+p) image, near-square."""
    n, c, h, w = images.shape
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    out = torch.zeros(c, rows * (h + padding) + padding, cols * (w + padding) + padding, dtype=torch.uint8)
    for i, image in enumerate(images):
        top = padding + (i // cols) * (h + padding)
        left = padding + (i % cols) * (w + padding)
        out[:, top:top + h, left:left + w] = image
    return out
