"""A deployment's replica as its pod runs it: TorchServe by `scripts/server.py run` (the container's
`make run`, in the foreground), its readiness by `scripts/server.py ready` (the health check), and
the gateway in front of it with the deployment's one bearer secret; and the gateway's read-only
management pass-through (the describe calls), in front of the tests' TorchServe, for a client that
has nothing of the project but tsclient/."""

import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from models.catalog import ROOT
from scripts.gateway import gateway, management_read_path
from scripts.server import Server, free_port, on_free_ports

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
        assert requests.get(f"{url}/models").status_code == 401  # its reads only with the secret (below)
        assert requests.get(f"{url}/metrics").status_code == 401
        metrics = requests.get(f"{url}/metrics", headers={"Authorization": f"Bearer {secret.decode()}"})
        assert metrics.status_code == 200 and 'ModelRequests{Outcome="ok",ModelVersion="1.0",ModelName="bigram"' \
            in metrics.text
    finally:
        httpd.shutdown()


def test_the_gateway_passes_on_the_management_apis_reads_for_the_secret_only(front_door, server):
    url, secret = front_door
    described = "/models/ebm/1.0?customized=true"
    for path in ["/models", "/models/ebm", "/models/ebm/all", described]:
        for authorization in [None, "Bearer wrong", f"Bearer {server.keys()['management']}",
                              f"Bearer {server.keys()['inference']}"]:  # TorchServe's own keys are not the secret
            headers = {} if authorization is None else {"Authorization": authorization}
            assert requests.get(url + path, headers=headers).status_code == 401
        answer = requests.get(url + path, headers={"Authorization": f"Bearer {secret}"})
        assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("application/json")
    through = requests.get(url + described, headers={"Authorization": f"Bearer {secret}"}).json()
    assert through[0]["customizedMetadata"] == server.management("GET", described).json()[0]["customizedMetadata"]
    assert requests.get(f"{url}/models/nosuch", headers={"Authorization": f"Bearer {secret}"}).status_code == 404


def test_the_gateway_passes_on_no_other_change(front_door, server):
    """Its management changes are tests/integration/test_registration.py's; nothing else goes through."""
    url, secret = front_door
    headers = {"Authorization": f"Bearer {secret}"}
    keys, workers = server.keys(), len(server.management("GET", "/models/bigram").json()[0]["workers"])
    for method, path in [("PATCH", "/models/bigram"), ("PUT", "/models"), ("DELETE", "/models"),
                         ("PUT", "/token?type=inference"), ("POST", "/workflows?url=x.war"),
                         ("DELETE", "/models/bigram/1.0/set-default")]:
        answer = requests.request(method, url + path, headers=headers)
        assert answer.status_code in (404, 405), (method, path, answer.status_code)
    for path in ["/token?type=inference", "/models/bigram/1.0/set-default", "/api-description", "/workflows"]:
        assert requests.get(url + path, headers=headers).status_code == 404, path
    assert len(server.management("GET", "/models/bigram").json()[0]["workers"]) == workers
    assert server.keys() == keys


@pytest.mark.parametrize("target", ["elsewhere:/models", "http://elsewhere/models", "//elsewhere/models",
                                    "/models/../token", "/models%0a", "/models/bigram/1.0/set-default"])
def test_a_request_target_that_is_not_a_describe_path_goes_nowhere(front_door, target):
    """Only a target that is a path of the describe calls is passed on, rebuilt from what was checked:
    one naming another host would take TorchServe's management key there."""
    url, secret = front_door
    port = int(url.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.putrequest("GET", target, skip_host=True, skip_accept_encoding=True)
    connection.putheader("Host", "127.0.0.1")
    connection.putheader("Authorization", f"Bearer {secret}")
    connection.endheaders()
    answer = connection.getresponse()
    assert answer.status in (400, 404), (target, answer.status)
    connection.close()


def test_only_the_describe_calls_query_parameters_are_passed_on():
    assert management_read_path("/models/ebm/1.0?customized=true&url=/etc&x=1") == "/models/ebm/1.0?customized=true"
    assert management_read_path("/models?limit=5") == "/models?limit=5"
    assert management_read_path("/models/ebm/1.0/extra") is None and management_read_path("x:/models") is None


def test_a_client_with_only_tsclient_works_through_the_gateway(front_door, tmp_path):
    url, secret = front_door
    shutil.copytree(ROOT / "tsclient", tmp_path / "tsclient", ignore=shutil.ignore_patterns("__pycache__"))
    program = f"""
import sys
from tsclient import Client
from tsclient.__main__ import help_text
client = Client(url={url!r}, key={secret!r})
assert "bigram" in client.models() and client.describe("ebm", "1.0").fields["steps"].bounds == (1, 1000)
print(client.bigram("the", length=4, seed=1))
print(" ".join(help_text(["--url", {url!r}, "--key", {secret!r}, "similar"]).split()))
print(sorted(name for name in sys.modules if name.split(".")[0] in
             ("handlers", "models", "training", "archive", "scripts", "bench")))
"""
    run = subprocess.run([sys.executable, "-c", program], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert run.returncode == 0, run.stderr
    text, shown, project_modules = run.stdout.splitlines()
    assert text.split()[0] == "the" and len(text.split()) == 4
    assert "--top-k N an integer in 1..100 (default 10)" in shown
    assert project_modules == "[]"


def test_the_gateway_sends_its_answers_without_waiting_for_acks(server):
    """TCP_NODELAY on every client's socket: an answer leaves in several writes (headers, chunks, the
    last chunk), and with Nagle's algorithm each waited for the client's delayed ACK, 40 ms a request."""
    httpd = gateway(server, free_port(), "127.0.0.1")
    nodelay, looked = [], threading.Event()
    finish_request = httpd.finish_request

    def finish_and_look(request, client_address):  # the connection's handler is done; the socket is still open
        finish_request(request, client_address)
        nodelay.append(request.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        looked.set()

    httpd.finish_request = finish_and_look
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        client = http.client.HTTPConnection("127.0.0.1", httpd.server_address[1], timeout=60)
        client.request("POST", "/predictions/bigram", body=b'{"start_word": "the", "length": 5}',
                       headers={**server.headers("inference"), "Content-Type": "application/json"})
        answer = client.getresponse()
        assert answer.status == 200 and json.loads(answer.read())["generated_text"]
        client.close()
        assert looked.wait(30)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert all(nodelay)

