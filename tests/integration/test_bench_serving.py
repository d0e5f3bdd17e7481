"""`make bench`'s client side against the tests' TorchServe: each timing gets real answers."""

import json

import pytest

from bench.floor import BATCHING, floor_rows
from bench.serving import Connection, Example, door_url, served_ms, throughput, time_split, together_ms
from models.catalog import catalog, model_versions


def test_served_latency_and_throughput_come_from_answered_requests(server):
    example = Example(model_versions("cifar10")[0].example_request)  # raw image bytes: the form furthest from JSON
    url = f"{server.inference_url}/predictions/cifar10"
    headers = server.headers("inference")
    with Connection(url, headers) as connection:
        assert json.loads(connection.send(example))["pred_label"] == "ship"
        assert served_ms(connection, example, 3) > 0
    assert throughput(url, headers, example, clients=2, seconds=0.5) > 0
    with Connection(door_url(server, model_versions("cifar10")[0]), headers) as connection:  # make serve's way in
        assert json.loads(connection.send(example))["pred_label"] == "ship"
    assert together_ms(url, headers, example, clients=3, rounds=2) > 0
    bad = Example({"json": {"colour": 1}})
    with Connection(url, headers) as connection:
        with pytest.raises(RuntimeError, match="HTTP 400"):  # a refused request does not count as answered
            connection.send(bad)


def test_the_time_split_accounts_for_the_served_requests_by_torchserves_metrics(server):
    entry = model_versions("bigram")[0]
    url = f"{server.inference_url}/predictions/bigram/{entry.version}"
    with Connection(url, server.headers("inference")) as connection:
        split = time_split(server, connection, entry, Example(entry.example_request), 5)
    # Each part was seen: the frontend's latency and queue, the handler's stages (from the worker's logs).
    assert split["handler_model_ms"] > 0 and split["handler_parse_ms"] > 0 and split["handler_encode_ms"] > 0
    assert split["queue_ms"] >= 0 and split["worker_round_trip_ms"] > 0 and split["client_and_http_ms"] > 0


def test_the_floor_is_served_by_a_handler_that_answers_at_once_and_shows_the_batch_delay():
    batched, one_at_a_time = floor_rows(count=20, seconds=0.5)
    assert batched["batching"]["batchSize"] > 1 and one_at_a_time["batching"]["batchSize"] == 1
    assert 0 < one_at_a_time["served_p50_ms"] and batched["requests_per_s_16"] > 0
    # A lone request to the batched model waits maxBatchDelay (1 ms) for company; alone, it does not.
    assert batched["served_p50_ms"] > one_at_a_time["served_p50_ms"] + 0.5


def test_the_floor_waits_for_a_batch_as_the_light_models_do():
    light = [entry for entry in catalog() if not entry.is_iterative]
    assert light and {entry.config["maxBatchDelay"] for entry in light} == {BATCHING["floor_batched"]["maxBatchDelay"]}
