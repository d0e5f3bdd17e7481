"""The samplers' limits hold on whatever machine serves them (handlers/sampler_clock.py), against a
real TorchServe: diffusion 1.0 served with a responseTimeout of TIMEOUT seconds, so short that the
model-config's cap would take far longer on any CPU. The worker lowers its cap to what it samples
within a third of the timeout; four requests at that cap sent together (one batch: maxBatchDelay holds
the first for them) would need 4/3 of the timeout one after another, and TorchServe would kill the
worker with all four. Instead the batch runs what fits, the rest get 503 with Retry-After, and the
worker lives. Requests go through make serve's door, as clients send them: the Retry-After is
TorchServe's answer's, passed on."""

import shutil
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import yaml

from models.catalog import ROOT
from scripts.server import Server, on_free_ports

TIMEOUT = 3
ARCHIVE = "diffusion_v1.0.mar"


def with_config(archive: Path, target: Path, **changes) -> None:
    """A copy of a .mar whose model-config.yaml has these top-level keys changed."""
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as copy:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "model-config.yaml":
                data = yaml.safe_dump({**yaml.safe_load(data), **changes}).encode()
            copy.writestr(item, data)


@pytest.fixture(scope="module")
def short_timeout(tmp_path_factory, model_store):
    workdir = tmp_path_factory.mktemp("time-limits")
    store = workdir / "model-store"
    store.mkdir()
    with_config(model_store / ARCHIVE, store / ARCHIVE, responseTimeout=TIMEOUT, batchSize=4, maxBatchDelay=2000,
                minWorkers=1, maxWorkers=1)
    config = on_free_ports(Path(shutil.copy(ROOT / "config.properties", workdir)), model_store=str(store),
                           load_models=ARCHIVE)
    server = Server(workdir, config, store)
    try:
        server.start(behind_door=True)
        server.wait_until_ready(["diffusion"])
        yield server
    finally:
        server.stop()


def post(server, body):
    return requests.post(f"{server.door_address('inference')}/predictions/diffusion", json=body, timeout=60,
                         headers=server.headers("inference"))


def described(server):
    [version] = server.management("GET", "/models/diffusion", params={"customized": "true"}).json()
    return version, version["customizedMetadata"]


def test_the_cap_in_force_is_lowered_to_what_ends_within_a_third_of_the_timeout(short_timeout):
    _, metadata = described(short_timeout)
    cost = metadata["cost"]
    cap = cost["max_sample_steps"]
    assert cost["response_timeout"] == TIMEOUT and cost["model_config_max_sample_steps"] == 6400
    if cap == 6400:
        pytest.skip(f"this machine samples 6400 sample-steps within {TIMEOUT / 3} s: nothing to lower")
    assert abs(cap - TIMEOUT / 3 / cost["seconds_per_sample_step"]) <= 1  # the figure is rounded to 1 us
    over = post(short_timeout, {"num_samples": 1, "diffusion_steps": cap + 1, "seed": 1})
    assert over.status_code == 400 and over.json()["allowed"] == f"num_samples x diffusion_steps <= {cap}"
    assert "on this server" in over.json()["error"]
    samples = min(64, cap)
    assert post(short_timeout, {"num_samples": samples, "diffusion_steps": cap // samples, "seed": 1}).ok


def test_a_batch_of_requests_at_the_cap_keeps_the_worker_alive(short_timeout):
    version, metadata = described(short_timeout)
    pids = [worker["pid"] for worker in version["workers"]]
    cap = metadata["cost"]["max_sample_steps"]
    if cap == 6400:
        pytest.skip(f"this machine samples 6400 sample-steps within {TIMEOUT / 3} s: nothing to lower")
    samples = min(64, cap)
    body = {"num_samples": samples, "diffusion_steps": cap // samples}
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda seed: post(short_timeout, {**body, "seed": seed}), range(4)))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses[0] == 200 and statuses[-1] == 503 and set(statuses) == {200, 503}, statuses
    busy = [answer for answer in answers if answer.status_code == 503]
    assert all(answer.headers["Retry-After"] == "1" and "busy" in answer.json()["error"] for answer in busy)
    version, _ = described(short_timeout)
    assert [worker["pid"] for worker in version["workers"]] == pids
    assert post(short_timeout, {**body, "seed": 9}).ok
