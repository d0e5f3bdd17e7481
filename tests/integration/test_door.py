"""The addresses `make serve` prints: the gateway (scripts/gateway.py --door) on each of config.properties'
inference, management and metrics addresses, TorchServe behind it on loopback ports of its own. The
hang-up on the printed inference address is tests/integration/test_faults.py's; the registration
forms refused are tests/integration/test_registration.py's (through the deployment's gateway, the
same guard)."""

import http.client
import json
from urllib.parse import urlsplit

import psutil
import requests

from scripts.server import APIS


def door(server, api: str, path: str) -> str:
    return server.door_address(api) + path


def test_torchserve_listens_behind_the_door_on_loopback(server):
    for api in APIS:
        printed, own = urlsplit(server.door_address(api)), urlsplit(server.address(api))
        assert printed.hostname == own.hostname == "127.0.0.1"
        assert printed.port != own.port, api
    frontend = psutil.Process(int(server.pid_file.read_text()))
    ports = {c.laddr.port for c in frontend.net_connections("tcp") if c.status == psutil.CONN_LISTEN}
    assert {urlsplit(server.address(api)).port for api in APIS} <= ports
    assert not {urlsplit(server.door_address(api)).port for api in APIS} & ports  # the door's, not TorchServe's


def test_predictions_through_the_door_are_torchserve_answers(server):
    body = {"start_word": "the", "length": 12, "seed": 3}
    headers = server.headers("inference")
    direct = requests.post(f"{server.inference_url}/predictions/bigram", json=body, headers=headers, timeout=60)
    through = requests.post(door(server, "inference", "/predictions/bigram"), json=body, headers=headers, timeout=60)
    assert through.status_code == direct.status_code == 200
    assert through.content == direct.content
    refused = requests.post(door(server, "inference", "/predictions/bigram"), json={"start_word": "the",
                            "length": 9999}, headers=headers, timeout=60)
    assert refused.status_code == 400 and refused.json()["field"] == "length"
    for answer in (through, refused):  # TorchServe's own headers, the framing the door's
        assert answer.headers["Cache-Control"] == direct.headers["Cache-Control"]
        assert answer.headers["Content-Type"] == "application/json" and answer.headers["x-request-id"]
        assert int(answer.headers["Content-Length"]) == len(answer.content)
    assert requests.get(door(server, "inference", "/ping"), headers=headers, timeout=30).json() == {"status": "Healthy"}


def test_keys_are_torchserve_s_own_at_the_door(server):
    """The client's key goes on unchanged: TorchServe checks it, as if it were called directly."""
    wrong = requests.post(door(server, "inference", "/predictions/bigram"), json={"start_word": "the"},
                          headers={"Authorization": "Bearer wrong"}, timeout=60)
    assert wrong.status_code in (400, 401) and "Token Authorization failed" in wrong.text
    models = requests.get(door(server, "management", "/models"), headers=server.headers("management"), timeout=30)
    assert models.status_code == 200 and "bigram" in {m["modelName"] for m in models.json()["models"]}
    with_inference_key = requests.get(door(server, "management", "/models"), headers=server.headers("inference"),
                                      timeout=30)
    assert with_inference_key.status_code in (400, 401)


def test_the_registration_guard_holds_at_the_printed_management_address(server):
    before = requests.get(door(server, "management", "/models"), headers=server.headers("management"), timeout=30)
    for url in ("/etc", str(server.model_store), "file:///tmp", "..%2Fbait.mar", "nothing.mar"):
        answer = requests.post(door(server, "management", "/models"), params={"url": url},
                               headers=server.headers("management"), timeout=30)
        assert answer.status_code == 400 and "url" in answer.json()["message"], (url, answer.text)
    after = requests.get(door(server, "management", "/models"), headers=server.headers("management"), timeout=30)
    assert after.json() == before.json()


def test_each_address_serves_its_own_api(server):
    headers = server.headers("inference")
    assert requests.get(door(server, "inference", "/models"), headers=headers, timeout=30).status_code == 404
    assert requests.post(door(server, "management", "/predictions/bigram"), json={"start_word": "the"},
                         headers=headers, timeout=30).status_code == 404
    assert requests.get(door(server, "metrics", "/ping"), timeout=30).status_code == 404
    assert requests.get(door(server, "inference", "/index.html"), timeout=30).status_code == 404  # no page here
    metrics = requests.get(door(server, "metrics", "/metrics"), timeout=30)
    assert metrics.status_code == 200 and "ts_inference_requests_total" in metrics.text


def test_the_token_api_renews_a_key_through_the_door(server):
    keys = json.loads((server.workdir / "key_file.json").read_text())
    answer = requests.get(door(server, "management", "/token"), params={"type": "management"},
                          headers={"Authorization": f"Bearer {keys['API']['key']}"}, timeout=30)
    assert answer.status_code == 200
    renewed = json.loads((server.workdir / "key_file.json").read_text())["management"]["key"]
    assert renewed != keys["management"]["key"]
    assert requests.get(door(server, "management", "/models"), headers={"Authorization": f"Bearer {renewed}"},
                        timeout=60).status_code == 200
    assert requests.get(door(server, "management", "/token"), params={"type": "API"},
                        headers={"Authorization": f"Bearer {keys['API']['key']}"}, timeout=30).status_code == 404


def test_a_body_over_the_request_limit_is_refused_before_it_is_read(server):
    limit = int(server.config.read_text().split("max_request_size=")[1].split()[0])
    address = urlsplit(server.door_address("inference"))
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    connection.putrequest("POST", "/predictions/bigram")
    connection.putheader("Authorization", server.headers("inference")["Authorization"])
    connection.putheader("Content-Length", str(limit + 1))
    connection.endheaders()  # and no body: the answer comes before one is sent
    answer = connection.getresponse()
    assert answer.status == 413 and answer.read() == b""
    connection.close()


def test_the_readme_s_registration_calls_work_at_the_printed_management_address(server):
    headers = server.headers("management")
    gone = requests.delete(door(server, "management", "/models/cifar10/1.0"), headers=headers, timeout=60)
    assert gone.status_code == 200, gone.text
    assert requests.post(door(server, "inference", "/predictions/cifar10/1.0"), data=b"x",
                         headers=server.headers("inference"), timeout=60).status_code == 404
    back = requests.post(door(server, "management", "/models"), headers=headers, timeout=300, params={
        "url": "cifar10_v1.0.mar", "model_name": "cifar10", "initial_workers": 1, "synchronous": "true"})
    assert back.status_code == 200, back.text
    versions = requests.get(door(server, "management", "/models/cifar10/all"), headers=headers, timeout=30).json()
    default = requests.get(door(server, "management", "/models/cifar10"), headers=headers, timeout=30).json()
    assert sorted(v["modelVersion"] for v in versions) == ["1.0", "2.0", "3.0"] and default[0]["modelVersion"] == "3.0"


def door_connections_to_torchserve(server) -> set[int]:
    """The local ports of the door's open connections to TorchServe's inference address."""
    door_process = psutil.Process(int(server.door_pid_file.read_text()))
    inference_port = urlsplit(server.inference_url).port
    return {c.laddr.port for c in door_process.net_connections("tcp")
            if c.raddr and c.raddr.port == inference_port and c.status == psutil.CONN_ESTABLISHED}


def test_a_kept_connection_goes_on_over_one_kept_connection_to_torchserve(server):
    """A client's successive requests over its kept connection go on over one kept connection to
    TorchServe. TorchServe closes its connection after each refusal (any status from 400 up); the
    client keeps its own, and the door opens a new one behind it."""
    address = urlsplit(server.door_address("inference"))
    client = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
    headers = {**server.headers("inference"), "Content-Type": "application/json"}
    before, upstream, client_ends = door_connections_to_torchserve(server), [], set()
    try:
        for length in (5, 6, 9999, 7, 8):
            client.request("POST", "/predictions/bigram", body=json.dumps({"start_word": "the", "length": length,
                                                                          "seed": 1}), headers=headers)
            answer = client.getresponse()
            body = json.loads(answer.read())
            assert (answer.status, body.get("field")) == ((400, "length") if length == 9999 else (200, None))
            upstream.append(door_connections_to_torchserve(server) - before)
            client_ends.add(client.sock.getsockname())
    finally:
        client.close()
    assert len(client_ends) == 1
    first, _, refused, _, second = upstream
    assert len(first) == 1 and upstream[1] == first and not refused
    assert len(second) == 1 and upstream[3] == second and second != first
