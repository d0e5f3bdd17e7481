"""A sampler request's picture to edit (models/editing.py): `image`, and for inpainting a `mask`
(white where to generate) or a `box`, with the `strength` to noise the picture to.

They come as in an image handler (handlers/image_io.py), each picture in any format PIL reads and
of any size (within `max_pixels`): JSON with base64 `image` and `mask` fields; a multipart upload
with files named `image` (or `file`) and `mask` and the other fields as form fields; or the raw
picture as the whole body, with every other field at its default. A request without a picture is
the JSON request it always was.
"""

from __future__ import annotations

from typing import Any

import torch

from handlers.image_io import base64_image, decode_image, form_value, image_tensor
from handlers.request_handler import Field, RequestError, parse_body
from models.editing import IMAGE_TO_IMAGE_STRENGTH, INPAINTING_STRENGTH, mask_from_box, mask_from_image

PICTURES = ("image", "mask")


def edit_fields(size: int, strength_bounds: tuple[float, float]) -> dict[str, Field]:
    return {"image": Field(str), "mask": Field(str),
            "strength": Field(float, bounds=strength_bounds),
            "box": Field(list, max_length=4, items=Field(int, bounds=(0, size)))}


def edit_request(request: dict[str, Any]) -> tuple[dict[str, Any], bytes | None, bytes | None]:
    """(the request's other fields, the image's bytes or None, the mask's bytes or None)."""
    body = request.get("body", request.get("data"))
    if body is None:  # multipart: each part by its name
        pictures = [request.get("image", request.get("file")), request.get("mask")]
        params = {name: form_value(value) for name, value in request.items() if name not in (*PICTURES, "file")}
        return params, *(bytes(p) if isinstance(p, (bytes, bytearray)) else None for p in pictures)
    if isinstance(body, (bytes, bytearray)) and not bytes(body).lstrip().startswith((b"{", b"[")):
        return {}, bytes(body), None  # the raw picture
    params = dict(parse_body(request))
    return params, *(base64_image(name, params.pop(name, None)) for name in PICTURES)


def picture(name: str, data: bytes, max_pixels: int) -> torch.Tensor:
    """uint8 (3, H, W), or a RequestError naming the field."""
    try:
        return image_tensor(decode_image(data, max_pixels))
    except RequestError as error:
        raise RequestError(error.message.replace("the image", f"the {name}"), name, error.allowed) from None


def edit_params(params: dict[str, Any], image: bytes | None, mask: bytes | None, size: int,
                max_pixels: int) -> dict[str, Any]:
    """The validated params with `image` (uint8 (3, H, W) or None), `mask` ((1, size, size) of 0/1, from
    the mask picture or the box, or None) and `strength` resolved; `box` goes into `mask`."""
    box = params.pop("box")
    if image is None:
        for name, value in (("mask", mask), ("box", box), ("strength", params["strength"])):
            if value is not None:
                raise RequestError(f"'{name}' edits a picture: send the picture as 'image' too", name,
                                   "with an image")
        return {**params, "image": None, "mask": None}
    if mask is not None and box is not None:
        raise RequestError("send a 'mask' or a 'box', not both", "box", "no box with a mask")
    if box is not None:
        if len(box) != 4 or not (box[0] < box[2] and box[1] < box[3]):
            raise RequestError(f"'box' is {box}; it must be [left, top, right, bottom] with left < right and "
                               f"top < bottom, in pixels of the {size}x{size} picture", "box",
                               f"[left, top, right, bottom], 0..{size}")
        region = mask_from_box(box, size)
    else:
        region = None if mask is None else mask_from_image(picture("mask", mask, max_pixels), size)
    strength = params["strength"]
    if strength is None:
        strength = IMAGE_TO_IMAGE_STRENGTH if region is None else INPAINTING_STRENGTH
    return {**params, "image": picture("image", image, max_pixels), "mask": region, "strength": strength}
