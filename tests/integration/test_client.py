"""The Python client (tsclient) and its command line against the tests' TorchServe: both take what
the server describes for each model version (the describe call) as their schema."""

import fcntl
import json
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image

from models.catalog import ROOT
from tests.integration.conftest import cap_in_force
from tsclient import Client, Preview, Progress, Result, ServerError, Text
from tsclient.__main__ import help_text
from tsclient.arguments import positional
from tsclient.schema import STREAM_FIELD

SHIP = ROOT / "tests" / "fixtures" / "cifar10" / "ship.jpg"


@pytest.fixture(scope="module")
def tsclient(server):
    return Client(url=server.inference_url, key_file=server.workdir / "key_file.json",
                  management_url=server.management_url)


def test_every_model_answers_with_python_values_that_keep_the_seed_and_settings(tsclient):
    text = tsclient.bigram("the", length=12, seed=1)
    assert isinstance(text, str) and text.split()[0] == "the" and text == tsclient.bigram("the", length=12, seed=1)
    assert isinstance(text, Text) and text.seed == 1 and text.answer["length"] == 12
    vector = tsclient.embed("king")
    assert vector.shape == (300,) and vector.dtype == np.float32 and tsclient.embed("zzqxj") is None
    assert [v is None for v in tsclient.embed_many(["sea", "zzqxj"])] == [False, True]
    pairs = tsclient.similar("king", top_k=5)
    assert len(pairs) == 5 and pairs[0][0] == "kings" and all(isinstance(s, float) for _, s in pairs)
    prediction = tsclient.classify(SHIP, top_k=3)
    assert prediction.label == "ship" and len(prediction.top_k) == 3 and prediction.top_k[0][0] == "ship"
    assert len(prediction.probabilities) == 10 and prediction.probability == prediction.top_k[0][1]
    assert tsclient.classify(Image.open(SHIP), version="1.0").label in {"ship", "airplane", "automobile"}
    sevens = tsclient.gan(num_samples=4, digit=7, seed=1)
    assert isinstance(sevens, Result) and isinstance(sevens.images, Image.Image) and sevens.seed == 1
    assert sevens.images.size == (2 * 30 + 2,) * 2 and sevens.answer["digits"] == [7] * 4
    digits = tsclient.gan(num_samples=3, seed=1, grid=False, version="1.0")
    assert [image.size for image in digits.images] == [(28, 28)] * 3
    assert tsclient.ebm(num_samples=2, steps=3, seed=1).images.size == (70, 36)
    samples = tsclient.diffusion(num_samples=2, diffusion_steps=3, seed=1, grid=False, label="ship")
    assert len(samples.images) == 2 and samples.seed == 1
    assert (samples.answer["labels"], samples.answer["diffusion_steps"]) == (["ship", "ship"], 3)
    unseeded = tsclient.diffusion(num_samples=1, diffusion_steps=2)  # the seed the server chose comes back
    assert tsclient.diffusion(num_samples=1, diffusion_steps=2, seed=unseeded.seed).images.tobytes() \
        == unseeded.images.tobytes()


def test_predict_calls_any_model_by_its_fields(tsclient):
    answer = tsclient.predict("similar", word="king", top_k=2)
    assert [item["token"] for item in answer["results"]] == ["kings", "princes"]
    assert tsclient.predict("cifar10", "1.0", image=SHIP.read_bytes(), top_k=1)["top_k"][0]["label"] \
        == tsclient.classify(SHIP, version="1.0").label
    assert tsclient.predict("bigram", start_word="the", length=5, seed=1, top_k=None)["generated_text"] \
        == tsclient.bigram("the", length=5, seed=1)  # None: left to the server's default


def test_describe_is_the_servers_schema_of_each_version(tsclient, server):
    for model in tsclient.models():
        for version in tsclient.versions(model):
            described = server.management("GET", f"/models/{model}/{version}", params={"customized": "true"}).json()
            metadata = described[0]["customizedMetadata"]
            fields = (json.loads(metadata) if isinstance(metadata, str) else metadata)["request"]["fields"]
            schema = tsclient.describe(model, version)
            assert (schema.model, schema.version) == (model, version) and list(schema.fields) == list(fields)
            for name, field in schema.fields.items():
                assert field.type == fields[name]["type"] and field.default == fields[name].get("default")
                assert field.bounds == (tuple(fields[name]["bounds"]) if "bounds" in fields[name] else None)
    assert tsclient.describe("ebm", "1.0").fields["step_size"].bounds != tsclient.describe("ebm").fields[
        "step_size"].bounds  # each version its own limits
    assert tsclient.describe("gan").version == tsclient.default_version("gan") == "2.0"


def test_a_keyword_the_model_does_not_have_is_refused_naming_the_ones_it_has(tsclient):
    with pytest.raises(TypeError, match="unexpected keyword argument 'lenght'"):  # typed keywords: Python's own
        tsclient.bigram("the", lenght=5)
    with pytest.raises(TypeError) as refused:
        tsclient.predict("bigram", start_word="the", lenght=5)
    assert str(refused.value) == ("bigram 1.0 has no field 'lenght'; its fields are start_word, length, strategy, "
                                  "temperature, top_k, seed")
    with pytest.raises(TypeError, match="'digit'"):
        tsclient.ebm(digit=3)
    with pytest.raises(TypeError, match="diffusion 1.0 has no field 'label'"):  # a field of another version
        tsclient.diffusion(label="cat", version="1.0")
    assert tsclient.diffusion(label=None, num_samples=1, diffusion_steps=1, version="1.0").seed is not None
    with pytest.raises(TypeError, match="its fields are image, top_k"):
        tsclient.predict("cifar10", picture=SHIP)
    with pytest.raises(TypeError, match="does not stream"):
        tsclient.stream("bigram", start_word="the")
    with pytest.raises(TypeError, match="Client.stream"):
        tsclient.predict("diffusion", stream=True)


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
    assert np.array_equal(np.asarray(result.images), np.asarray(plain.images)) and result.answer == plain.answer


def test_a_key_that_changes_while_the_client_is_in_use_is_read_again(server, tmp_path):
    real = json.loads((server.workdir / "key_file.json").read_text())
    key_file = tmp_path / "key_file.json"
    key_file.write_text(json.dumps({**real, "inference": {**real["inference"], "key": "stale"},
                                    "management": {**real["management"], "key": "stale"}}))
    client = Client(url=server.inference_url, key_file=key_file, management_url=server.management_url)
    with pytest.raises(ServerError) as refused:
        client.bigram("the", length=3)
    assert refused.value.status in (400, 401) and "stale" not in refused.value.message
    shutil.copy(server.workdir / "key_file.json", key_file)  # the keys were rotated: the file has the new ones
    assert client.bigram("the", length=3, seed=1).startswith("the")


def connection(server) -> list[str]:
    return ["--url", server.inference_url, "--management-url", server.management_url,
            "--key-file", str(server.workdir / "key_file.json")]


def cli(server, *args, cwd=None):
    """The command line run in `cwd` (by default a fresh folder, where images it saves without -o go)."""
    with tempfile.TemporaryDirectory() as folder:
        return subprocess.run([sys.executable, "-m", "tsclient", *connection(server), *args], cwd=cwd or folder,
                              capture_output=True, text=True, timeout=120,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_the_command_lines_help_lists_every_field_of_every_served_version(tsclient, server):
    overview = help_text(connection(server))
    for model in tsclient.models():
        assert f"\n    {model} " in overview
        for version in tsclient.versions(model):
            schema = tsclient.describe(model, version)
            shown = " ".join(help_text([*connection(server), model, "--version", version]).split())
            assert f"{model} {version}: its fields as the server describes them" in shown
            assert ("image the image file" in shown) == schema.takes_image
            for name, field in schema.fields.items():
                if name == STREAM_FIELD:  # not an argument: the command line streams, for its progress bar
                    assert "--stream" not in shown
                    continue
                argument = name if positional(field) else "--" + name.replace("_", "-")
                assert f" {argument} " in shown and f"{field.allowed()} ({field.default_words()})" in shown
    assert "an integer in 1..500 (default 20)" in help_text([*connection(server), "bigram"])
    assert "--version {1.0,2.0}" in help_text([*connection(server), "ebm"])


def test_the_command_line_says_when_the_server_cannot_be_reached(tmp_path):
    shown = help_text(["--url", "http://127.0.0.1:9", "--key", "k"])
    assert "--management-url" in shown  # the options that point it at a server
    assert "cannot read the models served" in shown and "no connection to http://127.0.0.1:9/models" in shown
    run = subprocess.run([sys.executable, "-m", "tsclient", "--url", "http://127.0.0.1:9", "--key", "k", "bigram",
                          "the"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "is the server running there" in run.stderr


def test_the_command_line(server, tmp_path):
    run = cli(server, "bigram", "the", "--length", "6", "--seed", "1")
    assert run.returncode == 0 and run.stdout.split()[0] == "the" and len(run.stdout.split()) == 6
    run = cli(server, "--json", "similar", "king", "--top-k", "3")
    assert run.returncode == 0 and [item["token"] for item in json.loads(run.stdout)["results"]][0] == "kings"
    run = cli(server, "cifar10", str(SHIP))
    assert run.returncode == 0 and run.stdout.splitlines()[0].startswith("ship\t")
    sevens = tmp_path / "sevens.png"
    run = cli(server, "gan", "--digit", "7", "--num-samples", "4", "-o", str(sevens))
    assert run.returncode == 0 and Image.open(sevens).size == (62, 62)
    grid = tmp_path / "grid.png"
    run = cli(server, "diffusion", "--num-samples", "2", "--diffusion-steps", "5", "--seed", "3", "-o", str(grid))
    assert run.returncode == 0 and Image.open(grid).size == (70, 36) and "seed 3" in run.stdout
    assert "5/5" in run.stderr  # the progress bar reached the last step
    run = cli(server, "ebm", "--version", "1.0", "--num-samples", "2", "--steps", "3", "--format", "images",
              "-o", str(tmp_path / "sample.png"))
    assert run.returncode == 0 and Image.open(tmp_path / "sample-1.png").size == (32, 32)


def test_the_command_line_checks_the_described_limits_and_passes_on_the_servers_refusals(server):
    run = cli(server, "bigram", "the", "--length", "501")  # refused before anything is sent
    assert run.returncode == 2 and "argument --length: '501' is not an integer in 1..500" in run.stderr
    run = cli(server, "ebm", "--step-size", "50")  # 2.0's range
    assert run.returncode == 2 and "is not a number in 0..2" in run.stderr
    assert cli(server, "ebm", "--version", "1.0", "--step-size", "50", "--num-samples", "1", "--steps",
               "1").returncode == 0  # 1.0's range
    run = cli(server, "bigram", "the", "--strategy", "best")
    assert run.returncode == 2 and "choose from 'sample', 'greedy'" in run.stderr
    run = cli(server, "diffusion", "--num-samples", "64", "--diffusion-steps", "1000")  # the server's own rule
    cap = cap_in_force(server, "diffusion")  # 2.0's
    assert run.returncode == 1 and f"num_samples x diffusion_steps <= {cap}" in run.stderr


def test_make_install_puts_the_command_in_the_virtual_environment(server, tmp_path):
    command = ROOT / ".venv" / "bin" / "tsclient"
    assert command.exists(), "make install writes .venv/bin/tsclient"
    run = subprocess.run([str(command), *connection(server), "--json", "embed", "--word", "king"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)  # from any folder
    assert run.returncode == 0 and len(json.loads(run.stdout)["vector"]) == 300


def test_the_command_line_takes_its_options_after_the_model_and_prints_every_seed(server, tmp_path):
    run = cli(server, "similar", "king", "--top-k", "3", "--json")
    assert run.returncode == 0 and json.loads(run.stdout)["results"][0]["token"] == "kings"
    run = subprocess.run([sys.executable, "-m", "tsclient", "bigram", "the", *connection(server), "--length", "4"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stdout.startswith("the ") and "seed" not in run.stdout
    seed = int(run.stderr.split("seed ")[1].split()[0])
    again = cli(server, "bigram", "the", "--length", "4", "--seed", str(seed))
    assert again.stdout == run.stdout and f"seed {seed}" in again.stderr
    assert json.loads(cli(server, "bigram", "the", "--seed", "5", "--json").stdout)["seed"] == 5


def test_generated_images_are_kept_without_o_and_scaled_on_request(server, tmp_path):
    run = cli(server, "gan", "--digit", "3", "--num-samples", "4", "--seed", "8", cwd=tmp_path)
    assert run.returncode == 0 and "saved to gan-8.png, seed 8" in run.stdout
    assert Image.open(tmp_path / "gan-8.png").size == (62, 62)
    run = cli(server, "gan", "--digit", "3", "--num-samples", "4", "--seed", "8", "--scale", "3", cwd=tmp_path)
    assert run.returncode == 0 and "a 186x186 grid saved to gan-8-2.png" in run.stdout  # the first is kept
    assert Image.open(tmp_path / "gan-8-2.png").size == (186, 186)
    run = cli(server, "gan", "--scale", "0")
    assert run.returncode == 2 and "'0' is not an integer in 1..16" in run.stderr


def test_the_command_line_fails_in_one_line_without_a_traceback(server, tmp_path):
    run = cli(server, "cifar10", str(tmp_path / "missing.jpg"))
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert run.stderr.strip() == f"tsclient: No such file or directory: {tmp_path / 'missing.jpg'}"
    run = cli(server, "diffusion", "--num-samples", "64", "--diffusion-steps", "1000")  # refused at once
    assert run.returncode == 1 and run.stderr.startswith("error 400: ") and "\r" not in run.stderr


def in_a_terminal(args: list[str], cwd) -> tuple[int, int]:
    """`python args` run with a pseudo-terminal as its controlling terminal, as typed in a shell:
    its process id and the terminal's other end (what it shows is read there, keys written there)."""
    pid, terminal = pty.fork()
    if pid == 0:  # the child: the command, or a nonzero exit
        try:
            os.chdir(cwd)
            # 24 x 100 characters: a new pseudo-terminal is 0 x 0, where tqdm draws an empty bar
            fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
            os.execve(sys.executable, [sys.executable, *args], {**os.environ, "PYTHONPATH": str(ROOT)})
        finally:
            os._exit(127)
    return pid, terminal


def shown_until(terminal: int, wanted: Callable[[bytes], bool] | None, timeout: float) -> bytes:
    """What the terminal shows until `wanted` says it is enough (None: until the command has exited)."""
    shown, deadline = b"", time.monotonic() + timeout
    while wanted is None or not wanted(shown):
        assert time.monotonic() < deadline, shown
        if select.select([terminal], [], [], 1)[0]:
            try:
                chunk = os.read(terminal, 4096)
            except OSError:  # EIO: the command has exited
                break
            if not chunk:
                break
            shown += chunk
    return shown


def exit_status(pid: int, terminal: int) -> int:
    """The command's exit status, once it has exited (killed if it has not within a minute)."""
    try:
        deadline = time.monotonic() + 60
        while (done := os.waitpid(pid, os.WNOHANG))[0] == 0:
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
            time.sleep(0.1)
        return os.waitstatus_to_exitcode(done[1])
    finally:
        os.close(terminal)


def test_in_a_terminal_the_bar_redraws_and_ctrl_c_exits_130_and_stops_the_sampler(server, tmp_path):
    """Through make serve's door, which tells the worker that its client has gone (handlers/cancellation.py)."""
    door = ["--url", server.door_address("inference"), "--management-url", server.door_address("management"),
            "--key-file", str(server.workdir / "key_file.json")]
    pid, terminal = in_a_terminal(["-m", "tsclient", *door, "diffusion", "--num-samples", "64",
                                   "--diffusion-steps", "1000"], tmp_path)  # refused: no bar before the error
    shown = shown_until(terminal, None, 60).decode()
    assert exit_status(pid, terminal) == 1 and shown.startswith("error 400: ") and "%|" not in shown, shown
    steps = cap_in_force(server, "diffusion", "1.0") // 64  # the longest request 1.0 takes: about a minute here
    started = time.monotonic()
    pid, terminal = in_a_terminal(["-m", "tsclient", *door, "diffusion", "--version", "1.0", "--num-samples", "64",
                                   "--diffusion-steps", str(steps), "-o", str(tmp_path / "never.png")], tmp_path)
    try:
        bar = re.compile(rf"\r[^\r\n]*%\|[^\r\n]*\| *[1-9]\d*/{steps} ".encode())  # a step drawn over the last
        shown = shown_until(terminal, lambda shown: len(bar.findall(shown)) >= 2, 60)
        os.write(terminal, b"\x03")  # Ctrl-C, typed: the terminal interrupts the command
        shown = (shown + shown_until(terminal, None, 60)).decode(errors="replace")
    finally:
        status = exit_status(pid, terminal)
    assert status == 130 and "interrupted; the request is cancelled" in shown and "Traceback" not in shown
    assert not (tmp_path / "never.png").exists()
    # The worker is free again well before the request would have ended.
    small = cli(server, "diffusion", "--version", "1.0", "--num-samples", "1", "--diffusion-steps", "1", "--json")
    assert small.returncode == 0 and time.monotonic() - started < 40


def test_breaking_out_of_a_stream_closes_it_and_the_sampler_stops(server):
    """Through make serve's door, which tells the worker that its client has gone."""
    door = Client(url=server.door_address("inference"), key_file=server.workdir / "key_file.json",
                  management_url=server.door_address("management"))
    steps = cap_in_force(server, "diffusion", "1.0") // 64  # the longest request 1.0 takes: about a minute here
    started = time.monotonic()
    for event in door.diffusion_stream(version="1.0", num_samples=64, diffusion_steps=steps, seed=1):
        assert isinstance(event, Progress) and event.step == 1
        break
    with door.diffusion_stream(version="1.0", num_samples=64, diffusion_steps=steps, seed=2) as events:
        assert next(events).step == 1
    # Two requests of about a minute each on a 2-core AVX2 CPU, stopped: the worker serves on at once.
    assert door.diffusion(version="1.0", num_samples=1, diffusion_steps=1).seed is not None
    assert time.monotonic() - started < 45
