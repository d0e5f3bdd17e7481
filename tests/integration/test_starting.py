"""`make serve` (scripts/server.py) and a plain `torchserve --start --ts-config config.properties`
serve the same thing: the same versions and default versions, workers, batching, limits and answers."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from archive.build import find_archives
from scripts.server import Server
from tests.integration.conftest import server_config
from tests.integration.test_recorded_answers import CASES, send

MODELS = sorted({archive.model for archive in find_archives().values()})
SETTINGS = ("modelVersion", "modelUrl", "minWorkers", "maxWorkers", "batchSize", "maxBatchDelay", "responseTimeout",
            "deviceType", "loadedAtStartup")


@pytest.fixture(scope="module")
def plain_server(tmp_path_factory, model_store):
    """TorchServe started by hand, as the README's alternative to `make serve` says, nothing called after."""
    workdir = tmp_path_factory.mktemp("plain-torchserve")
    config = server_config(workdir, model_store)
    server = Server(workdir, config, model_store)
    (workdir / "tmp").mkdir()
    env = {**os.environ, "TMPDIR": str(workdir / "tmp"), "LOG_LOCATION": str(workdir / "logs")}
    torchserve = Path(sys.executable).parent / "torchserve"
    with open(workdir / "torchserve.out", "w") as out:
        subprocess.run([str(torchserve), "--start", "--ts-config", str(config)], cwd=workdir, env=env,
                       stdout=out, stderr=subprocess.STDOUT, check=True)
    try:
        server.wait_until_ready(MODELS)
        yield server
    finally:
        server.stop()


def description(server: Server, path: str) -> list[dict]:
    response = server.management("GET", f"/models/{path}")
    assert response.status_code == 200, response.text
    return [{**{key: version.get(key) for key in SETTINGS}, "workers": len(version["workers"])}
            for version in response.json()]


@pytest.mark.parametrize("model", MODELS)
def test_both_ways_serve_the_same_versions_defaults_and_settings(server, plain_server, model):
    assert description(server, model) == description(plain_server, model)  # the default version
    assert description(server, f"{model}/all") == description(plain_server, f"{model}/all")


def test_the_newest_version_is_the_default_without_any_call(plain_server):
    assert description(plain_server, "cifar10")[0]["modelVersion"] == "2.0"
    assert description(plain_server, "gan")[0]["modelVersion"] == "2.0"


class PlainClient:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.headers = server.headers("inference")


@pytest.mark.parametrize("name, path, payload, headers", CASES, ids=[case[0] for case in CASES])
def test_both_ways_give_the_same_answers(client, plain_server, name, path, payload, headers):
    made, plain = send(client, path, payload, headers), send(PlainClient(plain_server), path, payload, headers)
    assert (made.status_code, made.headers["Content-Type"], made.content) == \
        (plain.status_code, plain.headers["Content-Type"], plain.content)
