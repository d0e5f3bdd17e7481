"""cifar10 and gan through a real TorchServe: versions, formats, determinism and bad input."""

import base64
import io
from pathlib import Path

import pytest
import requests
from PIL import Image

from models.cifar10 import CLASSES
from tests.helpers import decode_png

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "cifar10"


def predictions(client, path: str, image: bytes, headers=None) -> requests.Response:
    return requests.post(f"{client.server.inference_url}/predictions/{path}", data=image,
                         headers={**client.headers, **(headers or {})}, timeout=60)


@pytest.mark.parametrize("path, at_least", [("cifar10", 9), ("cifar10/3.0", 9), ("cifar10/2.0", 8),
                                             ("cifar10/1.0", 6)])
def test_real_cifar10_test_images_come_back_with_their_class(client, path, at_least):
    correct = 0
    for label in CLASSES:
        response = predictions(client, path, (FIXTURES / f"{label}.jpg").read_bytes())
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["pred_label"] == CLASSES[answer["pred_id"]] and len(answer["probs"]) == 10
        correct += answer["pred_label"] == label
    assert correct >= at_least


def test_the_default_version_is_3_0(client, server):
    image = (FIXTURES / "ship.jpg").read_bytes()
    default = predictions(client, "cifar10", image).json()
    assert default == predictions(client, "cifar10/3.0", image).json()
    assert default != predictions(client, "cifar10/2.0", image).json()
    assert default != predictions(client, "cifar10/1.0", image).json()
    versions = server.management("GET", "/models/cifar10/all").json()
    assert sorted(v["modelVersion"] for v in versions) == ["1.0", "2.0", "3.0"]


def test_raw_multipart_and_base64_give_the_same_answer(client):
    image = (FIXTURES / "horse.jpg").read_bytes()
    raw = predictions(client, "cifar10", image).json()
    upload = requests.post(f"{client.server.inference_url}/predictions/cifar10", files={"image": image},
                           data={"top_k": "4"}, headers=client.headers, timeout=60).json()
    encoded = client.predict("cifar10", {"image": base64.b64encode(image).decode(), "top_k": 4}).json()
    assert len(raw["top_k"]) == 3 and len(upload["top_k"]) == 4 and upload == encoded
    assert raw["probs"] == upload["probs"] and raw["top_k"] == upload["top_k"][:3]


def test_odd_sizes_and_modes_are_resized(client):
    for mode, size in [("L", (17, 300)), ("RGBA", (640, 480)), ("P", (33, 33))]:
        buffer = io.BytesIO()
        Image.open(FIXTURES / "frog.jpg").convert(mode).resize(size).save(buffer, format="PNG")
        assert predictions(client, "cifar10", buffer.getvalue()).status_code == 200


def bomb() -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (4000, 4000)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("image, params, field", [
    (b"this is not an image", None, "image"),
    ((FIXTURES / "cat.jpg").read_bytes()[:300], None, "image"),
    (b"", None, "image"),
    (bomb(), None, "image"),
    ((FIXTURES / "cat.jpg").read_bytes(), {"top_k": 0}, "top_k"),
    ((FIXTURES / "cat.jpg").read_bytes(), {"top_k": 11}, "top_k"),
])
def test_bad_images_get_400(client, image, params, field):
    if params:  # parameters travel as multipart form fields next to the image
        response = requests.post(f"{client.server.inference_url}/predictions/cifar10", files={"image": image},
                                 data=params, headers=client.headers, timeout=60)
    else:
        response = predictions(client, "cifar10", image)
    assert response.status_code == 400 and response.json()["field"] == field, response.text


def test_gan_grid_is_a_png_of_the_right_size_and_repeats_by_seed(client):
    first = client.predict("gan", {"num_samples": 16, "seed": 1})
    assert first.status_code == 200
    answer = first.json()
    assert answer["num_samples"] == 16 and decode_png(answer["image_base64_png"]).size == (122, 122)
    assert client.predict("gan", {"num_samples": 16, "seed": 1}).json()["image_base64_png"] == \
        answer["image_base64_png"]
    assert client.predict("gan", {"num_samples": 16, "seed": 2}).json()["image_base64_png"] != \
        answer["image_base64_png"]


def test_gan_png_and_images_formats_and_digits(client):
    png = client.predict("gan", {"num_samples": 4, "seed": 3, "digit": 7}, headers={"Accept": "image/png"})
    assert png.headers["Content-Type"] == "image/png"
    assert decode_png(png.content).size == (62, 62)
    images = client.predict("gan", {"num_samples": 3, "seed": 3, "format": "images", "digit": 2}).json()
    assert images["digits"] == [2, 2, 2] and [decode_png(i).size for i in images["images_base64_png"]] == [(28, 28)] * 3
    v1 = client.predict("gan/1.0", {"num_samples": 2, "seed": 3})
    assert v1.status_code == 200 and "digits" not in v1.json()
    refused = client.predict("gan/1.0", {"digit": 3})
    assert refused.status_code == 400 and refused.json()["field"] == "digit"


@pytest.mark.parametrize("body, field", [
    ({"num_samples": 0}, "num_samples"), ({"num_samples": 257}, "num_samples"), ({"digit": 10}, "digit"),
    ({"seed": -1}, "seed"), ({"format": "jpeg"}, "format"), ({"steps": 3}, "steps"),
])
def test_gan_bad_input_gets_400(client, body, field):
    response = client.predict("gan", body)
    assert response.status_code == 400 and response.json()["field"] == field
