"""`make bench`'s client side against the tests' TorchServe: each timing gets real answers."""

import pytest
import requests

from bench.serving import Example, served_ms, throughput, together_ms
from models.catalog import model_versions


def test_served_latency_and_throughput_come_from_answered_requests(server):
    example = Example(model_versions("cifar10")[0].example_request)  # raw image bytes: the form furthest from JSON
    url = f"{server.inference_url}/predictions/cifar10"
    headers = server.headers("inference")
    with requests.Session() as session:
        session.headers.update(headers)
        assert example.send(session, url).json()["pred_label"] == "ship"
        assert served_ms(session, url, example, 3) > 0
    assert throughput(url, headers, example, clients=2, seconds=0.5) > 0
    assert together_ms(url, headers, example, clients=3, rounds=2) > 0
    bad = Example({"json": {"colour": 1}})
    with requests.Session() as session:
        session.headers.update(headers)
        with pytest.raises(requests.HTTPError, match="400"):  # a refused request does not count as answered
            bad.send(session, url)
