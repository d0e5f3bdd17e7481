"""The cifar10 and gan handlers, with random weights, called as TorchServe calls them."""

import base64
import io
import json

import numpy as np
import pytest
import torch
from PIL import Image

from handlers.cifar10 import Cifar10Handler
from handlers.gan import GanHandler
from models.cifar10 import CLASSES, BaselineNet, ResidualNet
from models.gan import ConditionalGenerator, Generator
from tests.helpers import decode_png, handle, json_request, loaded, png_bytes, save_weights


def with_random_weights(handler_class, model, version, network, model_dir):
    save_weights(model_dir, model, version, network, {})
    return loaded(handler_class, model, model_dir, version)


@pytest.fixture(params=["1.0", "2.0"])
def cifar10(request, tmp_path):
    torch.manual_seed(0)
    network = {"1.0": BaselineNet, "2.0": ResidualNet}[request.param]()
    return with_random_weights(Cifar10Handler, "cifar10", request.param, network, tmp_path)


def test_cifar10_answers_each_way_of_sending_an_image(cifar10):
    handler, context = cifar10
    batch = [{"body": png_bytes()}, {"body": png_bytes("L", (100, 37))},
             {"image": png_bytes("RGBA", (5, 5)), "top_k": b"5"},
             json_request({"image": base64.b64encode(png_bytes()).decode(), "top_k": 10})]
    results = handle(handler, context, batch)
    assert [status for status, _ in results] == [200, 200, 200, 200]
    first, _, five, ten = (json.loads(a) for _, a in results)
    assert first["pred_label"] == CLASSES[first["pred_id"]] and len(first["probs"]) == 10
    assert sum(first["probs"]) == pytest.approx(1.0, abs=1e-5)
    assert [len(first["top_k"]), len(five["top_k"]), len(ten["top_k"])] == [3, 5, 10]
    assert first["top_k"][0] == {"label": first["pred_label"], "prob": max(first["probs"])}
    assert ten["probs"] == pytest.approx(first["probs"], abs=1e-6)  # the same image


def test_cifar10_refuses_bad_images_and_parameters(cifar10):
    handler, context = cifar10
    bomb = io.BytesIO()
    Image.new("L", (3000, 3000)).save(bomb, format="PNG")
    batch = [{"body": b"not an image"}, {"body": png_bytes()[:50]}, {"body": b""}, {"body": bomb.getvalue()},
             {"body": png_bytes(), "top_k": b"11"}, {"body": png_bytes(), "colour": b"red"}, {"body": png_bytes()}]
    results = handle(handler, context, batch)
    assert [status for status, _ in results] == [400, 400, 400, 400, 400, 400, 200]
    fields = [json.loads(a).get("field") for _, a in results[:6]]
    assert fields == ["image", "image", "image", "image", "top_k", "colour"]
    assert "limit is 4000000" in json.loads(results[3][1])["error"]


@pytest.fixture
def gan(tmp_path):
    torch.manual_seed(0)
    return with_random_weights(GanHandler, "gan", "2.0", ConditionalGenerator().eval(), tmp_path)


def test_gan_grid_images_and_png_formats(gan):
    handler, context = gan
    context.request_headers = {2: {"Accept": "image/png"}}
    batch = [json_request({"num_samples": 16, "seed": 1}), json_request({"num_samples": 3, "format": "images",
                                                                         "seed": 1, "digit": 7}),
             json_request({"num_samples": 16, "seed": 1})]
    (s1, grid_answer), (s2, images_answer), (s3, png_answer) = handle(handler, context, batch)
    assert (s1, s2, s3) == (200, 200, 200)
    grid_json, images_json = json.loads(grid_answer), json.loads(images_answer)
    assert grid_json["num_samples"] == 16 and decode_png(grid_json["image_base64_png"]).size == (4 * 30 + 2,) * 2
    assert images_json["digits"] == [7, 7, 7]
    assert [decode_png(i).size for i in images_json["images_base64_png"]] == [(28, 28)] * 3
    assert context.content_types[2] == "image/png"
    assert png_answer == base64.b64decode(grid_json["image_base64_png"])  # same seed, same bytes


def test_gan_limits_and_unconditional_version(gan, tmp_path):
    handler, context = gan
    results = handle(handler, context, [json_request({"num_samples": 0}), json_request({"num_samples": 257}),
                                         json_request({"digit": 10}), json_request({"format": "gif"})])
    assert [s for s, _ in results] == [400] * 4
    assert [json.loads(a)["field"] for _, a in results] == ["num_samples", "num_samples", "digit", "format"]
    v1, v1_context = with_random_weights(GanHandler, "gan", "1.0", Generator(), tmp_path)
    [(status, answer)] = handle(v1, v1_context, [json_request({"digit": 3})])
    assert status == 400 and "unconditional" in json.loads(answer)["error"]


def test_a_gan_batch_gives_each_request_the_images_it_gets_alone(gan):
    handler, context = gan
    bodies = [{"num_samples": 5, "seed": 3, "format": "images"}, {"digit": 9, "seed": 4, "format": "images"},
              {"num_samples": 2, "seed": 5, "format": "images", "digit": 1}]
    alone = [handle(handler, context, [json_request(body)])[0][1] for body in bodies]
    together = handle(handler, context, [json_request(body) for body in bodies])
    for (status, answer), own in zip(together, alone):
        assert status == 200
        merged = [np.asarray(decode_png(image)) for image in json.loads(answer)["images_base64_png"]]
        single = [np.asarray(decode_png(image)) for image in json.loads(own)["images_base64_png"]]
        assert np.abs(np.stack(merged).astype(int) - np.stack(single)).max() <= 1
        assert json.loads(answer)["digits"] == json.loads(own)["digits"]
