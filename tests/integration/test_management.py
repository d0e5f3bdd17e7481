"""Registration, unregistration and worker scaling through the management API."""

import time


def workers(server, model):
    return [w["status"] for w in server.management("GET", f"/models/{model}").json()[0]["workers"]]


def test_unregister_and_register_again(server, client):
    assert server.management("DELETE", "/models/similar").status_code == 200
    assert client.predict("similar", {"word": "dog"}).status_code == 404
    response = server.management("POST", "/models", params={"url": "similar.mar", "synchronous": "true",
                                                             "initial_workers": 1})
    assert response.status_code == 200, response.text
    assert workers(server, "similar") == ["READY"]
    assert client.predict("similar", {"word": "dog", "top_k": 3}).status_code == 200


def test_only_archives_of_the_model_store_can_be_registered(server):
    for url in ["http://127.0.0.1:1/evil.mar", "https://example.com/bigram.mar", "file:///etc/passwd"]:
        response = server.management("POST", "/models", params={"url": url})
        assert response.status_code >= 400 and "allowed" in response.text, (url, response.text)
    response = server.management("POST", "/models", params={"url": "../config.properties"})
    assert response.status_code >= 400


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
