"""`make serve` (scripts/server.py) and a plain `torchserve --start --ts-config config.properties`
serve the same thing: the same versions and default versions, workers, batching, limits and answers.

Each way starts a server of its own (one at a time), since other tests change the shared one, from
the repository's config.properties with only its ports changed."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from archive.build import find_archives
from models.catalog import ROOT
from scripts.server import Server, on_free_ports
from tests.integration.conftest import Client
from tests.integration.test_recorded_answers import CASES, send

MODELS = sorted({archive.model for archive in find_archives().values()})
SETTINGS = ("modelVersion", "modelUrl", "minWorkers", "maxWorkers", "batchSize", "maxBatchDelay", "responseTimeout",
            "deviceType", "loadedAtStartup")


def start_plainly(server: Server) -> None:
    """`torchserve --start --ts-config config.properties` by hand from a folder laid out as the
    repository (its relative `model_store=archive/model-store` and `metrics_config=archive/metrics.yaml`),
    nothing called after. The pid file and logs go to that folder."""
    (server.workdir / "archive").mkdir()
    (server.workdir / "archive" / "model-store").symlink_to(server.model_store)
    (server.workdir / "archive" / "metrics.yaml").symlink_to(ROOT / "archive" / "metrics.yaml")
    (server.workdir / "tmp").mkdir()
    env = {**os.environ, "TMPDIR": str(server.workdir / "tmp"), "LOG_LOCATION": str(server.workdir / "logs")}
    with open(server.workdir / "torchserve.out", "w") as out:
        subprocess.run([str(Path(sys.executable).parent / "torchserve"), "--start", "--ts-config", str(server.config)],
                       cwd=server.workdir, env=env, stdout=out, stderr=subprocess.STDOUT, check=True)
    server.wait_until_ready(MODELS)


def description(server: Server, path: str) -> list[dict]:
    response = server.management("GET", f"/models/{path}")
    assert response.status_code == 200, response.text
    return [{**{key: version.get(key) for key in SETTINGS}, "workers": len(version["workers"])}
            for version in response.json()]


def served(start, workdir: Path, model_store: Path) -> dict:
    """What a server started by `start` serves: each model's default and every version, and the
    answers to the recorded requests."""
    server = Server(workdir, on_free_ports(Path(shutil.copy(ROOT / "config.properties", workdir))), model_store)
    try:
        start(server)
        models = {path: description(server, path) for model in MODELS for path in (model, f"{model}/all")}
        answers = {}
        for name, path, payload, headers in CASES:
            response = send(Client(server), path, payload, headers)
            answers[name] = (response.status_code, response.headers["Content-Type"], response.content)
        return {"models": models, "answers": answers}
    finally:
        server.stop()


@pytest.fixture(scope="module")
def both_ways(tmp_path_factory, model_store) -> tuple[dict, dict]:
    return (served(Server.start_serving, tmp_path_factory.mktemp("make-serve"), model_store),
            served(start_plainly, tmp_path_factory.mktemp("plain-torchserve"), model_store))


def test_both_ways_serve_the_same_versions_defaults_and_settings(both_ways):
    made, plain = both_ways
    assert made["models"] == plain["models"]
    assert made["models"]["cifar10"][0]["modelVersion"] == "3.0"  # the newest version, without any call
    assert made["models"]["gan"][0]["modelVersion"] == "2.0"


@pytest.mark.parametrize("name", [case[0] for case in CASES])
def test_both_ways_give_the_same_answers(both_ways, name):
    made, plain = both_ways
    assert made["answers"][name] == plain["answers"][name]
