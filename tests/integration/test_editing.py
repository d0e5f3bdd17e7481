"""Editing a picture with the served samplers that edit (diffusion 1.0, ebm 2.0): inpainting a box of
a CIFAR-10 photo through the client, with the pixels outside it kept and the same bytes for the
same seed; ebm 1.0 refusing a picture;
image-to-image from a raw JPEG body and from a streamed request; the command line's picture files."""

import subprocess
import sys

import numpy as np
import pytest
import requests
from PIL import Image

from models.catalog import ROOT
from models.dpm_solver import DPMSolver2MScheduler
from tsclient import Client

SHIP = ROOT / "tests" / "fixtures" / "cifar10" / "ship.jpg"


@pytest.fixture(scope="module")
def tsclient(server):
    return Client(url=server.door_address("inference"), key_file=server.workdir / "key_file.json",
                  management_url=server.door_address("management"))


@pytest.mark.parametrize("model, version, steps_field", [("diffusion", "1.0", "diffusion_steps"),
                                                         ("ebm", "2.0", "steps")])
def test_inpainting_a_box_keeps_the_rest_of_the_picture(tsclient, model, version, steps_field):
    original = np.asarray(Image.open(SHIP).convert("RGB").resize((32, 32), Image.BILINEAR), dtype=int)
    sample = getattr(tsclient, model)
    samples = sample(version=version, grid=False, image=SHIP, box=[8, 8, 24, 24], num_samples=2, seed=4,
                     **{steps_field: 6})
    again = sample(version=version, grid=False, image=str(SHIP), box=[8, 8, 24, 24], num_samples=2, seed=4,
                   **{steps_field: 6})
    outside = np.ones((32, 32), dtype=bool)
    outside[8:24, 8:24] = False
    for sample, repeated in zip(samples.images, again.images):
        pixels = np.asarray(sample, dtype=int)
        assert np.array_equal(pixels, np.asarray(repeated, dtype=int))
        # The picture as the model sees it (resized with antialiasing), to a few levels of rounding.
        assert np.abs(pixels[outside] - original[outside]).mean() < 12
        assert np.abs(pixels[~outside] - original[~outside]).mean() > 8


def test_ebm_1_refuses_a_picture(server):
    answer = requests.post(f"{server.door_address('inference')}/predictions/ebm/1.0", data=SHIP.read_bytes(),
                           headers={**server.headers("inference"), "Content-Type": "image/jpeg"}, timeout=120)
    assert answer.status_code == 400, answer.text


def test_image_to_image_from_a_raw_jpeg_and_streamed(server, tsclient):
    answer = requests.post(f"{server.door_address('inference')}/predictions/diffusion/1.0", data=SHIP.read_bytes(),
                           headers={**server.headers("inference"), "Content-Type": "image/jpeg"}, timeout=120)
    assert answer.status_code == 200, answer.text
    assert answer.json()["strength"] == 0.8 and answer.json()["num_samples"] == 16
    events = list(tsclient.diffusion_stream(version="1.0", image=SHIP, strength=0.5, diffusion_steps=10,
                                            num_samples=1, seed=1))
    scheduler = DPMSolver2MScheduler()
    scheduler.set_timesteps(10)
    below = int((scheduler.timesteps <= 0.5).sum())  # the steps from diffusion time 0.5 down
    assert 0 < below < 10
    assert [event.step for event in events[:-1]] == list(range(1, below + 1))
    assert events[-1].answer["strength"] == 0.5


def test_the_command_line_takes_picture_files(server, tmp_path):
    out = tmp_path / "inpainted.png"
    result = subprocess.run([sys.executable, "-m", "tsclient", "--url", server.door_address("inference"),
                             "--key-file", str(server.workdir / "key_file.json"), "--management-url",
                             server.door_address("management"), "diffusion", "--version", "1.0", "--image", str(SHIP),
                             "--box", "0", "0", "16", "32", "--num-samples", "1", "--diffusion-steps", "3",
                             "--seed", "1", "-o", str(out)], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert Image.open(out).size[0] >= 32
