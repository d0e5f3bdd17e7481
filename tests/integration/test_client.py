"""The Python client (tsclient) and its command line against the tests' TorchServe."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.helpers import ROOT
from tsclient import Client, Preview, Progress, Result, ServerError

SHIP = ROOT / "tests" / "fixtures" / "cifar10" / "ship.jpg"


@pytest.fixture(scope="module")
def tsclient(server):
    return Client(url=server.inference_url, key_file=server.workdir / "key_file.json")


def test_every_model_answers_with_python_values(tsclient):
    text = tsclient.bigram("the", length=12, seed=1)
    assert isinstance(text, str) and text.split()[0] == "the" and text == tsclient.bigram("the", length=12, seed=1)
    vector = tsclient.embed("king")
    assert vector.shape == (300,) and vector.dtype == np.float32 and tsclient.embed("zzqxj") is None
    assert [v is None for v in tsclient.embed_many(["sea", "zzqxj"])] == [False, True]
    pairs = tsclient.similar("king", top_k=5)
    assert len(pairs) == 5 and pairs[0][0] == "kings" and all(isinstance(s, float) for _, s in pairs)
    prediction = tsclient.classify(SHIP, top_k=3)
    assert prediction.label == "ship" and len(prediction.top_k) == 3 and prediction.top_k[0][0] == "ship"
    assert len(prediction.probabilities) == 10 and prediction.probability == prediction.top_k[0][1]
    assert tsclient.classify(Image.open(SHIP), version="1.0").label in {"ship", "airplane", "automobile"}
    grid = tsclient.gan(num_samples=4, digit=7, seed=1)
    assert isinstance(grid, Image.Image) and grid.size == (2 * 30 + 2,) * 2
    digits = tsclient.gan(num_samples=3, seed=1, grid=False, version="1.0")
    assert [image.size for image in digits] == [(28, 28)] * 3
    assert tsclient.ebm(num_samples=2, steps=3, seed=1).size == (70, 36)
    assert len(tsclient.diffusion(num_samples=2, diffusion_steps=3, seed=1, grid=False)) == 2


def test_refusals_raise_one_exception_with_the_field_and_what_it_allows(tsclient):
    with pytest.raises(ServerError) as refused:
        tsclient.bigram("the", length=501)
    assert refused.value.status == 400 and refused.value.field == "length"
    assert refused.value.allowed == "an integer in 1..500"
    with pytest.raises(ServerError) as refused:
        tsclient.diffusion(num_samples=64, diffusion_steps=1000)
    assert refused.value.field == "num_samples" and "<=" in refused.value.allowed


@pytest.mark.parametrize("model, steps", [("ebm", "steps"), ("diffusion", "diffusion_steps")])
def test_a_stream_yields_progress_and_previews_in_order_then_the_result(tsclient, model, steps):
    stream = tsclient.ebm_stream if model == "ebm" else tsclient.diffusion_stream
    events = list(stream(num_samples=3, seed=2, **{steps: 8}))
    *progress, result = events
    assert [event.step for event in progress] == list(range(1, 9)) and all(e.steps == 8 for e in progress)
    assert all(isinstance(event, Progress) for event in progress)
    previews = [event for event in progress if isinstance(event, Preview)]
    assert len(previews) == 8 and previews[-1].image.size == (70, 70)  # 3 samples on a 2 x 2 grid
    assert isinstance(result, Result) and result.seed == 2
    plain = (tsclient.ebm if model == "ebm" else tsclient.diffusion)(num_samples=3, seed=2, **{steps: 8})
    assert np.array_equal(np.asarray(result.images), np.asarray(plain))


def test_a_key_that_changes_while_the_client_is_in_use_is_read_again(server, tmp_path):
    real = json.loads((server.workdir / "key_file.json").read_text())
    key_file = tmp_path / "key_file.json"
    key_file.write_text(json.dumps({**real, "inference": {**real["inference"], "key": "stale"}}))
    client = Client(url=server.inference_url, key_file=key_file)
    with pytest.raises(ServerError) as refused:
        client.bigram("the", length=3)
    assert refused.value.status in (400, 401) and "stale" not in refused.value.message
    shutil.copy(server.workdir / "key_file.json", key_file)  # the key was rotated: the file has the new one
    assert client.bigram("the", length=3, seed=1).startswith("the")


def cli(server, *args):
    return subprocess.run([sys.executable, "-m", "tsclient", "--url", server.inference_url, "--key-file",
                           str(server.workdir / "key_file.json"), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_the_command_line(server, tmp_path):
    run = cli(server, "bigram", "the", "--length", "6", "--seed", "1")
    assert run.returncode == 0 and run.stdout.split()[0] == "the" and len(run.stdout.split()) == 6
    run = cli(server, "--json", "similar", "king", "-k", "3")
    assert run.returncode == 0 and [pair[0] for pair in json.loads(run.stdout)["results"]][0] == "kings"
    run = cli(server, "classify", str(SHIP))
    assert run.returncode == 0 and run.stdout.splitlines()[0].startswith("ship\t")
    sevens = tmp_path / "sevens.png"
    run = cli(server, "gan", "--digit", "7", "-n", "4", "-o", str(sevens))
    assert run.returncode == 0 and Image.open(sevens).size == (62, 62)
    grid = tmp_path / "grid.png"
    run = cli(server, "diffusion", "-n", "2", "--steps", "5", "--seed", "3", "-o", str(grid))
    assert run.returncode == 0 and Image.open(grid).size == (70, 36)
    assert "5/5" in run.stderr  # the progress bar reached the last step
    run = cli(server, "bigram", "the", "--length", "501")
    assert run.returncode == 1 and "length" in run.stderr and "1..500" in run.stderr


def test_make_install_puts_the_command_in_the_virtual_environment(server, tmp_path):
    command = ROOT / ".venv" / "bin" / "tsclient"
    assert command.exists(), "make install writes .venv/bin/tsclient"
    run = subprocess.run([str(command), "--url", server.inference_url, "--key-file",
                          str(server.workdir / "key_file.json"), "--json", "embed", "king"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)  # from any folder
    assert run.returncode == 0 and len(json.loads(run.stdout)["vector"]) == 300
