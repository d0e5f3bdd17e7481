"""One real TorchServe for the whole test run, on free ports, serving freshly built archives of
every model, started as `make serve` starts it (scripts/server.py)."""

import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from scripts.server import Server, read_properties, write_properties
from tests.helpers import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_archives(model_store: Path, *names: str, root: Path = ROOT) -> None:
    """Build archives (all if no names) with the build script of the project at `root`."""
    subprocess.run([sys.executable, str(root / "archive" / "build.py"), "--model-store", str(model_store), *names],
                   check=True, cwd=root)


def server_config(workdir: Path, model_store: Path) -> Path:
    """The repository's config.properties on free ports, serving `model_store`; nothing else changed."""
    properties = read_properties(ROOT / "config.properties")
    properties.update({
        "inference_address": f"http://127.0.0.1:{free_port()}",
        "management_address": f"http://127.0.0.1:{free_port()}",
        "metrics_address": f"http://127.0.0.1:{free_port()}",
        "grpc_inference_port": str(free_port()),
        "grpc_management_port": str(free_port()),
        "model_store": str(model_store),
        # Workers talk to the frontend over /tmp/.ts.sock.<port>: keep clear of another server's.
        "initial_worker_port": str(free_port()),
    })
    write_properties(properties, workdir / "config.properties")
    return workdir / "config.properties"


@pytest.fixture(scope="session")
def model_store(tmp_path_factory) -> Path:
    model_store = tmp_path_factory.mktemp("model-store")
    build_archives(model_store)
    return model_store


@pytest.fixture(scope="session")
def server(tmp_path_factory, model_store) -> Server:
    workdir = tmp_path_factory.mktemp("torchserve")
    server = Server(workdir, server_config(workdir, model_store), model_store)
    try:
        server.start_serving()
        yield server
    finally:
        server.stop()


class Client:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.headers = server.headers("inference")

    def predict(self, model: str, body=None, data=None, headers=None) -> requests.Response:
        return requests.post(f"{self.server.inference_url}/predictions/{model}", json=body, data=data,
                             headers={**self.headers, **(headers or {})}, timeout=60)


@pytest.fixture(scope="session")
def client(server) -> Client:
    return Client(server)
