"""diffusion 2.1, the distilled student (handlers/diffusion.py with the model-config's section for 2.1),
with a tiny class-conditional UNet of random weights: its own sampler at its calls, labels without
guidance, and what it refuses."""

import base64
import json

import numpy as np
import pytest
import torch

from handlers.diffusion import DiffusionHandler
from handlers.image_io import encode_png
from models.diffusion_sampler import DISTILLED, reverse_diffusion
from models.manifest import read_manifest, write_manifest
from models.seeds import Seeds
from tests.helpers import (
    TINY_CONDITIONAL_UNET_ARGS,
    decode_png,
    handle,
    json_request,
    loaded,
    save_weights,
    tiny_conditional_unet,
)


@pytest.fixture
def student(tmp_path):
    save_weights(tmp_path, "diffusion", "2.1", tiny_conditional_unet(), TINY_CONDITIONAL_UNET_ARGS, reverse_diffusion)
    manifest = read_manifest(tmp_path / "diffusion-v2.1.json")
    write_manifest(tmp_path / "diffusion-v2.1.json", {**manifest, "training": {
        "steps": 4, "teacher": {"file": "diffusion-v2.0.json", "sampler": "dpmpp_2m", "guidance": 3.0}}})
    return loaded(DiffusionHandler, "diffusion", tmp_path, "2.1")


def answer(student, body):
    handler, context = student
    context.request_headers = {0: {}}
    [(status, out)] = handle(handler, context, [json_request(body)])
    return status, json.loads(out)


def test_it_samples_with_its_own_sampler_at_its_calls_and_the_labels_asked_for(student):
    handler, _ = student
    assert handler.fields["sampler"].choices == (DISTILLED,) and "guidance" not in handler.fields
    calls = []
    hook = handler.network.register_forward_hook(lambda module, inputs, output: calls.append(len(inputs[0])))
    try:
        status, out = answer(student, {"num_samples": 2, "label": "ship", "seed": 5, "format": "images"})
    finally:
        hook.remove()
    assert status == 200, out
    assert calls == [2, 2, 2, 2]  # 4 calls by default, none doubled: the guidance was taught
    assert out["labels"] == ["ship", "ship"] and "guidance" not in out and out["diffusion_steps"] == 4
    expected = reverse_diffusion(handler.network, Seeds.one(2, 5), 4, sampler=DISTILLED, eta=0.0,
                                 labels=torch.tensor([8, 8]))
    for png, image in zip(out["images_base64_png"], expected):
        assert torch.equal(torch.from_numpy(np.array(decode_png(png))).permute(2, 0, 1), image)


@pytest.mark.parametrize("body, field, says", [
    ({"label": "cat", "guidance": 3.0}, "guidance", "distilled with guidance 3 taught"),
    ({"sampler": "dpmpp_2m"}, "sampler", "one of distilled"),
    ({"diffusion_steps": 5}, "diffusion_steps", "1..4"),
    ({"eta": 0.5}, "eta", "0.0..0.0"),
])
def test_what_a_student_cannot_do_is_refused_naming_the_field(student, body, field, says):
    status, out = answer(student, {"seed": 1, **body})
    assert status == 400 and out["field"] == field and says in out["error"], out


def test_it_inpaints_holding_the_picture_outside_the_box(student):
    torch.manual_seed(3)
    original = (torch.rand(3, 32, 32) * 255).to(torch.uint8)
    status, out = answer(student, {"num_samples": 1, "label": "frog", "box": [0, 0, 16, 32], "seed": 2,
                                   "format": "images", "image": base64.b64encode(encode_png(original)).decode()})
    assert status == 200, out
    sample = torch.from_numpy(np.array(decode_png(out["images_base64_png"][0]))).permute(2, 0, 1)
    assert (sample[:, :, 16:].int() - original[:, :, 16:].int()).abs().max() <= 1
    assert (sample[:, :, :16].int() - original[:, :, :16].int()).abs().max() > 10  # the box is new
    assert out["strength"] == 1.0 and out["labels"] == ["frog"]
