"""One real TorchServe for the whole test run, on free ports, serving freshly built archives of
every model, started as `make serve` starts it (scripts/server.py)."""

import secrets
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from models.catalog import ROOT
from scripts.gateway import gateway
from scripts.server import Server, free_port, on_free_ports


@pytest.fixture(scope="session")
def model_store(tmp_path_factory) -> Path:
    model_store = tmp_path_factory.mktemp("model-store")
    subprocess.run([sys.executable, str(ROOT / "archive" / "build.py"), "--model-store", str(model_store)], check=True)
    return model_store


@pytest.fixture(scope="session")
def server(tmp_path_factory, model_store) -> Server:
    workdir = tmp_path_factory.mktemp("torchserve")
    config = on_free_ports(Path(shutil.copy(ROOT / "config.properties", workdir)), model_store=str(model_store))
    server = Server(workdir, config, model_store)
    try:
        server.start_serving()
        yield server
    finally:
        server.stop()


def cap_in_force(server: Server, model: str, version: str | None = None) -> int:
    """A sampler's cost cap on this machine, as its describe call says (handlers/sampler_clock.py):
    the model-config's, or less on a CPU too slow to sample that within its time budget."""
    path = f"/models/{model}" + (f"/{version}" if version else "")
    [described] = server.management("GET", path, params={"customized": "true"}).json()
    return described["customizedMetadata"]["cost"]["max_sample_steps"]


class Client:
    def __init__(self, server: Server) -> None:
        self.server = server

    @property
    def headers(self) -> dict[str, str]:
        return self.server.headers("inference")  # read each time: a test may renew the key

    def predict(self, model: str, body=None, data=None, headers=None) -> requests.Response:
        return requests.post(f"{self.server.inference_url}/predictions/{model}", json=body, data=data,
                             headers={**self.headers, **(headers or {})}, timeout=60)


@pytest.fixture(scope="session")
def client(server) -> Client:
    return Client(server)


@pytest.fixture(scope="module")
def front_door(server):
    """A deployment's gateway, with its bearer secret, in front of the tests' TorchServe."""
    secret = secrets.token_urlsafe(32)
    port = free_port()
    httpd = gateway(server, port, "127.0.0.1", secret.encode())
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{port}", secret
    finally:
        httpd.shutdown()
