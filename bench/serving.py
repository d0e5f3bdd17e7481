"""What serving adds to each model's own work: every model's example request (its model-config's
`example_request`) answered in this process by its handler, called as a worker calls it
(bench/local_context.py), against the same request answered by a real TorchServe over HTTP;
where a served request's time goes by TorchServe's own metrics; the throughput of that TorchServe
at 1, 4 and 16 concurrent clients; the same request through make serve's door (the gateway in front
of TorchServe, as clients reach it); and, for every version of
the models that take an image, the served latency of one image and of 8 sent together (which
TorchServe batches)."""

from __future__ import annotations

import http.client
import json
import math
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.local_context import LocalContext
from models.catalog import ROOT, ModelVersion, catalog
from scripts.prometheus import scrape, value
from scripts.server import Server, on_free_ports

CONCURRENCY = (1, 4, 16)
# Requests answered before timing starts, on both sides alike, and for at least 2 s: a worker's
# first answers pay for allocations and caches, and a fresh frontend for its JVM's compiling.
WARM_UP = 10
WARM_UP_SECONDS = 2.0
TURNS = 3


class Example:
    """A model's example request, as TorchServe hands it to the handler and as a client sends it."""

    def __init__(self, example: dict[str, Any]) -> None:
        if "json" in example:
            self.body = json.dumps(example["json"]).encode()
            self.headers = {"Content-Type": "application/json"}
        else:
            self.body = (ROOT / example["file"]).read_bytes()
            self.headers = {"Content-Type": example["content_type"]}
        self.json = example.get("json")

    def handler_request(self) -> dict[str, Any]:
        return {"body": self.json if self.json is not None else bytearray(self.body)}


class Connection:
    """One keep-alive HTTP/1.1 connection to a model's URL, on Python's http.client: the leanest
    client Python has, so that the time measured is the server's. (Through the requests library
    a request took 0.7-1.5 ms longer on a 2-core EPYC, a cost of that client, not of serving.)"""

    def __init__(self, url: str, headers: dict[str, str], timeout: float = 120) -> None:
        address = urlsplit(url)
        self.path, self.headers = address.path, headers
        self.connection = http.client.HTTPConnection(address.hostname, address.port, timeout=timeout)

    def send(self, example: Example) -> bytes:
        """The answer's body; an error that names the status unless it is 200."""
        self.connection.request("POST", self.path, body=example.body, headers={**self.headers, **example.headers})
        response = self.connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status} from {self.path}: {body[:200]!r}")
        return body

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.connection.close()


def warm_up(call: Callable[[], Any]) -> None:
    start, calls = time.perf_counter(), 0
    while calls < WARM_UP or time.perf_counter() - start < WARM_UP_SECONDS:
        call()
        calls += 1


def timed_ms(call: Callable[[], Any], count: int) -> list[float]:
    times = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        times.append(1000 * (time.perf_counter() - start))
    return times


def in_process_call(entry: ModelVersion, example: Example, weights: Path) -> Callable[[], Any]:
    """The example request answered by the version's handler in this process, called as a worker calls it."""
    handler, context = entry.handler_class()(), LocalContext(entry.model, weights, entry.version)
    handler.initialize(context)  # sets the model-config's threads (torch, BLAS), as a worker does
    context.request_headers = {0: example.headers}
    return lambda: handler.handle([example.handler_request()], context)


def served_ms(connection: Connection, example: Example, count: int) -> float:
    """The median of `count` requests, after at least WARM_UP requests and WARM_UP_SECONDS."""
    [median] = medians_ms_in_turns([lambda: connection.send(example)], count, turns=1)
    return median


def medians_ms_in_turns(calls: list[Callable[[], Any]], count: int, turns: int = TURNS) -> list[float]:
    """The median milliseconds of at least `count` calls of each, after warming each up, the calls
    taking turns (`turns` rounds), so that a machine whose speed drifts moves them alike."""
    for call in calls:
        warm_up(call)
    times: list[list[float]] = [[] for _ in calls]
    for _ in range(turns):
        for call, timed in zip(calls, times):
            timed += timed_ms(call, math.ceil(count / turns))
    return [statistics.median(timed) for timed in times]


def throughput(url: str, headers: dict[str, str], example: Example, clients: int, seconds: float) -> float:
    """Requests per second that `clients` threads, each with its own keep-alive connection, get
    answered in `seconds`."""
    done = [0] * clients
    deadline = time.perf_counter() + seconds

    def client(index: int) -> None:
        with Connection(url, headers) as connection:
            while time.perf_counter() < deadline:
                connection.send(example)
                done[index] += 1

    start = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.perf_counter() - start)


def default_request_seconds(url: str, headers: dict[str, str], repeats: int = 3) -> float:
    """Median seconds of a request that leaves everything to the defaults (16 samples, the served
    sampler and steps), served, after one such request to warm up."""
    default_request = Example({"json": {"seed": 1}})
    times = []
    with Connection(url, headers, timeout=600) as connection:
        for _ in range(repeats + 1):
            start = time.perf_counter()
            connection.send(default_request)
            times.append(time.perf_counter() - start)
    return round(statistics.median(times[1:]), 3)


STAGES = ("parse", "model", "encode")  # the handlers' own stages (handlers/handler_metrics.py)


def time_split(server: Server, connection: Connection, entry: ModelVersion, example: Example,
               count: int) -> dict[str, float]:
    """Where the mean served request's milliseconds go, over `count` requests one after another, by
    TorchServe's own metrics (scripts/prometheus.py): the client and HTTP (the client's time less
    the frontend's latency), the frontend's queue (which holds the batch delay), the worker's round
    trip outside the handler (the frontend's latency less the queue and the handler: the frontend to
    worker protocol, TorchServe's Python around the handler, the metrics' log lines), and the
    handler's stages."""
    labels = {"model_name": entry.model, "model_version": entry.version}
    handled = {"ModelName": entry.model, "ModelVersion": entry.version}
    before = scrape(server.metrics_url)
    start = time.perf_counter()
    for _ in range(count):
        connection.send(example)
    client_ms = 1000 * (time.perf_counter() - start) / count
    deadline = time.perf_counter() + 10  # the frontend reads the handlers' metrics from the workers' logs
    while True:
        after = scrape(server.metrics_url)
        answered = value(after, "ModelRequests", Outcome="ok", **handled) - value(before, "ModelRequests",
                                                                                  Outcome="ok", **handled)
        if answered >= count or time.perf_counter() > deadline:
            break
        time.sleep(0.2)

    def per_request(metric: str, **series: str) -> float:
        return (value(after, metric, **series) - value(before, metric, **series)) / count

    frontend_ms = per_request("ts_inference_latency_microseconds", **labels) / 1000
    queue_ms = per_request("ts_queue_latency_microseconds", **labels) / 1000
    stages = {stage: per_request("HandlerStageMilliseconds", Stage=stage, **handled) for stage in STAGES}
    split = {"client_and_http_ms": client_ms - frontend_ms, "queue_ms": queue_ms,
             "worker_round_trip_ms": frontend_ms - queue_ms - sum(stages.values()),
             **{f"handler_{stage}_ms": ms for stage, ms in stages.items()}}
    return {name: round(ms, 2) for name, ms in split.items()}


def served_models(weights: Path) -> list[ModelVersion]:
    """What the serving table measures: the default version of every model with an example request."""
    return [entry for entry in catalog(weights) if entry.default and entry.example_request is not None]


def serving_row(server: Server, entry: ModelVersion, weights: Path, count: int, seconds: float) -> dict[str, Any]:
    """One model version's row, against a running `server`."""
    headers = server.headers("inference")
    example = Example(entry.example_request)
    url = prediction_url(server.inference_url, entry)
    with Connection(url, headers) as connection:
        served, local = medians_ms_in_turns([lambda: connection.send(example),
                                             in_process_call(entry, example, weights)], count)
        split = time_split(server, connection, entry, example, count)
    with Connection(door_url(server, entry), headers) as connection:
        through_door = served_ms(connection, example, count)
    row = {"model": entry.model, "version": entry.version, "in_process_p50_ms": round(local, 2),
           "served_p50_ms": round(served, 2), "overhead_ms": round(served - local, 2), "time_split": split,
           "door_p50_ms": round(through_door, 2)}
    for clients in CONCURRENCY:
        row[f"requests_per_s_{clients}"] = round(throughput(url, headers, example, clients, seconds), 1)
    return row


def prediction_url(address: str, entry: ModelVersion) -> str:
    return f"{address}/predictions/{entry.model}/{entry.version}"


def door_url(server: Server, entry: ModelVersion) -> str:
    """The model version's URL on make serve's door (scripts/gateway.py --door), the way clients come
    in: the configured inference address, with the gateway in front of TorchServe."""
    return prediction_url(server.door_address("inference"), entry)


def default_request_row(server: Server, entry: ModelVersion) -> dict[str, Any]:
    url = prediction_url(server.inference_url, entry)
    return {"model": entry.model, "version": entry.version,
            "seconds": default_request_seconds(url, server.headers("inference"))}


def image_models(weights: Path) -> list[ModelVersion]:
    """Every version of the models whose example request is an image file."""
    return [entry for entry in catalog(weights) if "file" in (entry.example_request or {})]


def together_ms(url: str, headers: dict[str, str], example: Example, clients: int, rounds: int) -> float:
    """The median over `rounds` of the milliseconds until all of `clients` requests, sent at once
    (one keep-alive connection each), are answered."""
    barrier = threading.Barrier(clients + 1, timeout=120)  # a client that fails breaks it, not hangs it
    finished = [[0.0] * rounds for _ in range(clients)]

    def client(index: int) -> None:
        with Connection(url, headers) as connection:
            connection.send(example)  # the connection, before timing
            for round_ in range(rounds):
                barrier.wait()
                connection.send(example)
                finished[index][round_] = time.perf_counter()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    starts = []
    for _ in range(rounds):  # a round starts when every client has finished the one before
        barrier.wait()
        starts.append(time.perf_counter())
    for thread in threads:
        thread.join()
    return 1000 * statistics.median(max(done[r] for done in finished) - start for r, start in enumerate(starts))


def image_latency_row(server: Server, entry: ModelVersion, count: int) -> dict[str, Any]:
    example = Example(entry.example_request)
    url = prediction_url(server.inference_url, entry)
    headers = server.headers("inference")
    with Connection(url, headers) as connection:
        one = served_ms(connection, example, count)
    return {"model": entry.model, "version": entry.version, "one_p50_ms": round(one, 2),
            "eight_p50_ms": round(together_ms(url, headers, example, 8, count), 2)}


def serving_results(weights: Path, model_store: Path, count: int = 30, seconds: float = 3.0
                    ) -> dict[str, list[dict[str, Any]]]:
    """The serving tables' rows ("serving", "default_requests" of every sampler version, "image_latency"),
    from a TorchServe of its own on free ports."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-torchserve-"))
    server = Server(workdir, on_free_ports(Path(shutil.copy(ROOT / "config.properties", workdir))), model_store)
    try:
        server.start_serving()
        return {"serving": [serving_row(server, entry, weights, count, seconds) for entry in served_models(weights)],
                "default_requests": [default_request_row(server, entry) for entry in catalog(weights)
                                     if entry.is_iterative],
                "image_latency": [image_latency_row(server, entry, count) for entry in image_models(weights)]}
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
