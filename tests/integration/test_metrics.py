"""The handlers' Prometheus metrics (archive/metrics.yaml, handlers/handler_metrics.py), scraped
from TorchServe's metrics address after known requests."""

import time

from scripts.prometheus import scrape as scrape_url
from scripts.prometheus import value


def scrape(server):
    return scrape_url(server.metrics_url)


def changes(server, before, metric, **labels) -> float:
    deadline = time.time() + 10  # the frontend reads the workers' metrics as they log them
    while True:
        after = value(scrape(server), metric, **labels)
        if after != value(before, metric, **labels) or time.time() > deadline:
            return after - value(before, metric, **labels)
        time.sleep(0.2)


def test_requests_are_counted_by_version_and_outcome(server, client):
    before = scrape(server)
    for _ in range(3):
        assert client.predict("bigram", {"start_word": "the", "length": 3}).status_code == 200
    assert client.predict("bigram", {"start_word": "the", "length": 501}).status_code == 400
    assert client.predict("bigram", {"start_word": "the", "my own label": 1}).status_code == 400
    assert client.predict("embed", {"words": ["a", 7]}).status_code == 400
    assert client.predict("gan/1.0", {"digit": 3}).status_code == 400
    bigram = {"ModelName": "bigram", "ModelVersion": "1.0"}
    assert changes(server, before, "ModelRequests", Outcome="ok", **bigram) == 3
    assert changes(server, before, "ModelRequests", Outcome="400 length", **bigram) == 1
    # A field the client made up is counted as "unknown": client text never becomes a label.
    assert changes(server, before, "ModelRequests", Outcome="400 unknown", **bigram) == 1
    assert not any("my own label" in str(key) for key in scrape(server))
    assert changes(server, before, "ModelRequests", Outcome="400 words", ModelName="embed",
                   ModelVersion="1.0") == 1
    assert changes(server, before, "ModelRequests", Outcome="400 digit", ModelName="gan",
                   ModelVersion="1.0") == 1
    for stage in ("parse", "model", "encode"):
        assert changes(server, before, "HandlerStageMilliseconds", Stage=stage, **bigram) > 0


def test_samples_and_sampler_speed_are_counted(server, client):
    before = scrape(server)
    assert client.predict("gan", {"num_samples": 5, "seed": 1}).status_code == 200
    assert client.predict("diffusion", {"num_samples": 3, "diffusion_steps": 4, "seed": 1}).status_code == 200
    assert changes(server, before, "SamplesGenerated", ModelName="gan", ModelVersion="2.0") == 5
    assert changes(server, before, "SamplesGenerated", ModelName="diffusion", ModelVersion="2.0") == 3
    assert value(scrape(server), "SamplerStepsPerSecond", ModelName="diffusion", ModelVersion="2.0") > 0
