"""Worker scaling through the management API (registration: tests/integration/test_registration.py)."""

import time


def workers(server, model):
    return [w["status"] for w in server.management("GET", f"/models/{model}").json()[0]["workers"]]


def test_scale_workers_up_and_down(server, client):
    response = server.management("PUT", "/models/bigram", params={"min_worker": 2, "max_worker": 2,
                                                                   "synchronous": "true"})
    assert response.status_code == 200, response.text
    assert workers(server, "bigram") == ["READY", "READY"]
    assert client.predict("bigram", {"start_word": "the"}).status_code == 200
    response = server.management("PUT", "/models/bigram", params={"min_worker": 1, "max_worker": 1,
                                                                   "synchronous": "true"})
    assert response.status_code == 200, response.text
    deadline = time.time() + 30
    while len(workers(server, "bigram")) != 1 and time.time() < deadline:
        time.sleep(0.5)
    assert workers(server, "bigram") == ["READY"]
