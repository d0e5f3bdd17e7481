import base64
import io
from pathlib import Path

import pytest
import torch
from PIL import Image

from handlers.image_io import decode_image, encode_png, grid, image_request, image_tensor
from handlers.request_handler import RequestError
from tests.helpers import decode_png, png_bytes


def test_raw_body_with_form_parameters():
    data, params = image_request({"body": png_bytes(), "top_k": b"3", "name": b"cat"})
    assert data == png_bytes() and params == {"top_k": 3, "name": "cat"}


def test_multipart_upload_named_image():
    data, params = image_request({"image": bytearray(png_bytes()), "top_k": "2"})
    assert data == png_bytes() and params == {"top_k": 2}


def test_json_with_base64_image():
    body = {"image": base64.b64encode(png_bytes()).decode(), "top_k": 4}
    data, params = image_request({"body": body})
    assert data == png_bytes() and params == {"top_k": 4}


@pytest.mark.parametrize("request_, words", [
    ({"body": {"image": "***"}}, "base64"),
    ({"body": {"top_k": 3}}, "base64"),
    ({"body": b""}, "no image"),
    ({"top_k": b"3"}, "no image"),
])
def test_requests_without_a_usable_image(request_, words):
    with pytest.raises(RequestError, match=words) as caught:
        image_request(request_)
    assert caught.value.field == "image"


def test_decode_converts_any_mode_to_rgb():
    for mode in ["RGB", "L", "RGBA", "P"]:
        image = decode_image(png_bytes(mode), max_pixels=10_000)
        assert image.mode == "RGB" and image.size == (40, 30)
    transparent = decode_image(png_bytes("RGBA", color=(0, 0, 0, 0)), max_pixels=10_000)
    assert transparent.getpixel((0, 0)) == (255, 255, 255)  # alpha composited on white


@pytest.mark.parametrize("data, words", [
    (b"", "empty"), (b"hello, not an image", "not an image"), (png_bytes()[:60], "could not be decoded"),
    ((Path(__file__).parents[1] / "fixtures" / "cifar10" / "cat.jpg").read_bytes()[:300], "could not be decoded"),
])
def test_bad_image_bytes(data, words):
    with pytest.raises(RequestError, match=words):
        decode_image(data, max_pixels=10_000)


def test_pixel_limit_is_checked_before_decoding():
    buffer = io.BytesIO()
    Image.new("L", (5000, 5000)).save(buffer, format="PNG")  # 25 MP that compress to a few KB
    assert len(buffer.getvalue()) < 100_000
    with pytest.raises(RequestError, match="25000000 pixels; the limit is 4000000"):
        decode_image(buffer.getvalue(), max_pixels=4_000_000)


def test_png_round_trip_and_grid_layout():
    images = torch.randint(0, 256, (5, 3, 8, 6), dtype=torch.uint8)
    decoded = image_tensor(decode_png(encode_png(images[0])))
    assert torch.equal(decoded, images[0])
    tiled = grid(images, padding=2)
    assert tiled.shape == (3, 2 * 10 + 2, 3 * 8 + 2)  # 3 columns, 2 rows
    assert torch.equal(tiled[:, 2:10, 2:8], images[0]) and torch.equal(tiled[:, 12:20, 2:8], images[3])
    gray = encode_png(torch.zeros(1, 28, 28, dtype=torch.uint8))
    assert decode_png(gray).mode == "L"
