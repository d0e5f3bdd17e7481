"""Editing with the diffusion handler and ebm 2.0's (random weights), called as TorchServe calls them:
image-to-image and inpainting from JSON, multipart and raw bodies, their refusals, seeded
determinism, merged batches, and the sampler-level guarantees (models/editing.py)."""

import base64
import json

import numpy as np
import pytest
import torch

from handlers.diffusion import DiffusionHandler
from handlers.ebm import EbmHandler
from handlers.image_io import encode_png
from models.annealed_langevin import annealed_langevin
from models.diffusion_sampler import reverse_diffusion
from models.editing import Edit
from models.energy_net import EnergyNet
from models.images import denormalize, normalize
from models.langevin import sample_from_noise
from models.seeds import Seeds
from tests.helpers import (
    TINY_UNET_ARGS,
    decode_png,
    handle,
    json_request,
    loaded,
    png_bytes,
    save_weights,
    tiny_energy,
    tiny_unet,
)


@pytest.fixture
def diffusion(tmp_path):
    save_weights(tmp_path, "diffusion", "1.0", tiny_unet(), TINY_UNET_ARGS, reverse_diffusion)
    return loaded(DiffusionHandler, "diffusion", tmp_path)


@pytest.fixture
def ebm2(tmp_path):
    save_weights(tmp_path, "ebm", "2.0", tiny_energy(), TINY_UNET_ARGS, annealed_langevin)
    return loaded(EbmHandler, "ebm", tmp_path, "2.0")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def picture() -> torch.Tensor:
    torch.manual_seed(3)
    return (torch.rand(1, 3, 32, 32) * 255).to(torch.uint8)


def png_of(images: torch.Tensor) -> bytes:
    return encode_png(images[0])


def pixels(encoded: str) -> torch.Tensor:
    """uint8 (3, H, W) of a base64 PNG."""
    return torch.from_numpy(np.array(decode_png(encoded))).permute(2, 0, 1)


def answers(diffusion, requests):
    handler, context = diffusion
    context.request_headers = {i: {} for i in range(len(requests))}
    return handle(handler, context, requests)


@pytest.mark.parametrize("sampler, steps_field", [("diffusion", "diffusion_steps"), ("ebm2", "steps")])
def test_inpainting_keeps_every_pixel_outside_the_box(sampler, steps_field, request):
    original = picture()
    body = {"image": b64(png_of(original)), "box": [8, 8, 24, 24], "num_samples": 2, steps_field: 4,
            "seed": 5, "format": "images"}
    [(status, out)] = answers(request.getfixturevalue(sampler), [json_request(body)])
    assert status == 200, out
    result = json.loads(out)
    assert result["strength"] == 1.0
    for encoded in result["images_base64_png"]:
        sample = pixels(encoded)
        outside = torch.ones(32, 32, dtype=torch.bool)
        outside[8:24, 8:24] = False
        assert (sample[:, outside].int() - original[0][:, outside].int()).abs().max() <= 1
        assert (sample[:, ~outside].int() - original[0][:, ~outside].int()).abs().float().mean() > 5  # generated


def test_a_mask_picture_of_any_size_and_a_multipart_upload(diffusion):
    original = picture()
    mask = torch.zeros(1, 3, 64, 64, dtype=torch.uint8)
    mask[..., :32, :] = 255  # white: the top half is generated
    multipart = {"image": png_of(original), "mask": png_of(mask), "num_samples": b"1", "diffusion_steps": b"3",
                 "seed": b"2", "format": b"images"}
    [(status, out)] = answers(diffusion, [multipart])
    assert status == 200, out
    sample = pixels(json.loads(out)["images_base64_png"][0])
    assert (sample[:, 16:].int() - original[0][:, 16:].int()).abs().max() <= 1


def test_the_same_seed_and_inputs_give_the_same_bytes_and_a_raw_picture_is_image_to_image(diffusion):
    [(status, out)] = answers(diffusion, [{"body": bytearray(png_bytes(size=(50, 40)))}])
    assert status == 200 and json.loads(out)["strength"] == 0.8 and json.loads(out)["num_samples"] == 16
    seeded = {"image": b64(png_bytes()), "strength": 0.5, "seed": 9, "diffusion_steps": 4, "num_samples": 2}
    first = answers(diffusion, [json_request(seeded)])
    assert first[0][0] == 200 and first == answers(diffusion, [json_request(dict(seeded))])
    other_seed = answers(diffusion, [json_request({**seeded, "seed": 10})])
    assert other_seed[0][1] != first[0][1]


@pytest.mark.parametrize("sampler, steps_field", [("diffusion", "diffusion_steps"), ("ebm2", "steps")])
def test_a_merged_batch_gives_each_request_what_it_gets_alone(sampler, steps_field, request):
    handler = request.getfixturevalue(sampler)
    a = {"image": b64(png_bytes(color=(250, 0, 0))), "strength": 0.6, "seed": 1, steps_field: 4, "num_samples": 2}
    b = {"image": b64(png_bytes(color=(0, 0, 250))), "strength": 0.6, "seed": 2, steps_field: 4, "num_samples": 1}
    together = answers(handler, [json_request(a), json_request(b)])
    alone = answers(handler, [json_request(a)]) + answers(handler, [json_request(b)])
    assert together == alone
    assert together[0][1] != together[1][1]


def test_ebm_1_takes_no_picture(tmp_path):
    save_weights(tmp_path, "ebm", "1.0", EnergyNet(width=1), {"width": 1}, sample_from_noise)
    ebm = loaded(EbmHandler, "ebm", tmp_path)
    assert "image" not in ebm[0].fields
    [(status, out)] = answers(ebm, [json_request({"image": b64(png_bytes()), "steps": 2})])
    assert status == 400 and json.loads(out)["field"] == "image"


@pytest.mark.parametrize("body, field", [
    ({"box": [0, 0, 8, 8]}, "box"),
    ({"strength": 0.5}, "strength"),
    ({"mask": "aGVsbG8="}, "mask"),
    ({"image": "not base64!"}, "image"),
    ({"image": b64(b"not an image")}, "image"),
    ({"image": b64(png_bytes()), "mask": b64(b"junk")}, "mask"),
    ({"image": b64(png_bytes()), "strength": 1.5}, "strength"),
    ({"image": b64(png_bytes()), "box": [8, 8, 4, 20]}, "box"),
    ({"image": b64(png_bytes()), "box": [0, 0, 40, 8]}, "box[2]"),
    ({"image": b64(png_bytes()), "box": [1, 2, 3]}, "box"),
    ({"image": b64(png_bytes()), "box": [0, 0, 8, 8], "mask": b64(png_bytes())}, "box"),
])
def test_bad_edits_are_refused_naming_the_field(diffusion, body, field):
    [(status, out)] = answers(diffusion, [json_request({"diffusion_steps": 2, **body})])
    assert status == 400, out
    assert json.loads(out)["field"] == field


def test_strength_zero_is_the_picture_and_fewer_steps_run_at_lower_strength():
    torch.manual_seed(0)
    network = tiny_unet().eval()
    original = picture()
    edit = Edit(normalize(original), 0.0)
    same = reverse_diffusion(network, Seeds.one(1, 0), 10, sampler="dpmpp_2m", eta=0.0, edit=edit)
    assert (same.int() - original.int()).abs().max() <= 1
    calls = []
    reverse_diffusion(network, Seeds.one(1, 0), 10, lambda step, steps, images: calls.append((step, steps)),
                      sampler="ddim", eta=0.0, edit=Edit(normalize(original), 0.5))
    assert calls == [(i, 5) for i in range(1, 6)]
    assert (denormalize(normalize(original)).int() - original.int()).abs().max() <= 1
