"""A deployment's replica as its pod runs it: TorchServe by `scripts/server.py run` (the container's
`make run`, in the foreground), its readiness by `scripts/server.py ready` (the health check), and
the gateway in front of it with the deployment's one bearer secret."""

import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from scripts.gateway import gateway
from scripts.server import Server, free_port, on_free_ports
from tests.helpers import ROOT

SERVER = [sys.executable, str(ROOT / "scripts" / "server.py")]


@pytest.fixture(scope="module")
def replica(tmp_path_factory, model_store):
    workdir = tmp_path_factory.mktemp("replica")
    config = on_free_ports(Path(shutil.copy(ROOT / "config.properties", workdir)), model_store=str(model_store))
    server = Server(workdir / "work", config, model_store)
    options = ["--workdir", str(server.workdir), "--config", str(config), "--model-store", str(model_store)]
    running = subprocess.Popen([*SERVER, "run", *options], start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 300
        while subprocess.run([*SERVER, "ready", *options], capture_output=True).returncode != 0:
            assert running.poll() is None, "make run stopped"
            assert time.time() < deadline, "not READY after 300 s"
            time.sleep(1)
        yield server, running
    finally:
        os.killpg(running.pid, signal.SIGTERM)  # as tini -g passes it on in the container
        running.wait(timeout=90)


def test_run_serves_in_the_foreground_until_sigterm(replica):
    server, running = replica
    assert running.poll() is None and server.is_running()
    assert requests.post(f"{server.inference_url}/predictions/bigram", json={"start_word": "the"},
                         headers=server.headers("inference")).status_code == 200


def test_the_gateway_lets_in_the_deployment_secret_only(replica):
    server, _ = replica
    secret = secrets.token_urlsafe(32).encode()
    port = free_port()
    httpd = gateway(server, port, "127.0.0.1", secret)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    try:
        body = {"start_word": "the", "length": 4, "seed": 1}
        for authorization in [None, "Bearer wrong", f"Bearer {secret.decode()}x",
                              f"Bearer {server.keys()['inference']}"]:  # TorchServe's own key is not the secret
            headers = {} if authorization is None else {"Authorization": authorization}
            assert requests.post(f"{url}/predictions/bigram", json=body, headers=headers).status_code == 401
        answer = requests.post(f"{url}/predictions/bigram", json=body,
                               headers={"Authorization": f"Bearer {secret.decode()}"})
        assert answer.status_code == 200 and answer.json()["generated_text"].startswith("the")
        assert requests.get(f"{url}/ready").status_code == 200
        assert requests.get(f"{url}/healthz").status_code == 200
        assert requests.get(f"{url}/models").status_code == 404  # the management API is not passed on
        assert requests.get(f"{url}/metrics").status_code == 401
        metrics = requests.get(f"{url}/metrics", headers={"Authorization": f"Bearer {secret.decode()}"})
        assert metrics.status_code == 200 and 'ModelRequests{Outcome="ok",ModelVersion="1.0",ModelName="bigram"' \
            in metrics.text
    finally:
        httpd.shutdown()
