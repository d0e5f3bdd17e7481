"""One real TorchServe for the whole test run, on free ports, serving freshly built archives."""

import socket
import subprocess
import sys

import pytest
import requests

from scripts.server import Server, read_properties, write_properties
from tests.fake_context import ROOT

ARCHIVES = ["bigram", "embed", "similar", "cifar10_v1", "cifar10", "gan_v1", "gan", "ebm", "diffusion"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Server:
    workdir = tmp_path_factory.mktemp("torchserve")
    model_store = workdir / "model-store"
    subprocess.run([sys.executable, str(ROOT / "archive" / "build.py"), "--model-store", str(model_store),
                    *ARCHIVES], check=True)
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
    server = Server(workdir, workdir / "config.properties", model_store)
    try:
        server.start_serving(ARCHIVES)
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
