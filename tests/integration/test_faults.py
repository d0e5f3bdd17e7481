"""Faults, each against a TorchServe of its own: a worker killed while it serves, a full queue, a
client that hangs up in the middle of a stream, and a server stopped, restarted, and killed with
`kill -9`."""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from models.catalog import ROOT
from scripts.server import Server, on_free_ports
from tests.integration.conftest import cap_in_force

# About 6 s of sampling on one core of a 2-core AVX-512 machine, 18 s on an AVX2 one: long enough to act while it runs.
LONG = {"num_samples": 64, "diffusion_steps": 30, "seed": 1}
SHORT = {"num_samples": 1, "diffusion_steps": 1, "seed": 1}


@pytest.fixture(scope="module")
def faulty(tmp_path_factory, model_store):
    workdir = tmp_path_factory.mktemp("faults")
    config = on_free_ports(Path(shutil.copy(ROOT / "config.properties", workdir)), model_store=str(model_store),
                           load_models="bigram.mar,diffusion.mar")
    server = Server(workdir, config, model_store)
    try:
        server.start(behind_door=True)  # as make serve starts it
        server.wait_until_ready(["bigram", "diffusion"])
        yield server
    finally:
        server.stop()


def post(server, model, body, timeout=300):
    return requests.post(f"{server.inference_url}/predictions/{model}", json=body, timeout=timeout,
                         headers=server.headers("inference"))


def worker_pids(server, model):
    return [worker["pid"] for worker in server.management("GET", f"/models/{model}").json()[0]["workers"]]


def wait_until_busy():
    """Until the worker is well into the long request: the queue was empty, and a lone request
    waits 1 ms for a batch (maxBatchDelay)."""
    time.sleep(2.0)


def test_a_worker_killed_while_it_serves(faulty):
    with ThreadPoolExecutor(1) as pool:
        long = pool.submit(post, faulty, "diffusion", LONG)
        wait_until_busy()
        [pid] = worker_pids(faulty, "diffusion")
        os.kill(pid, signal.SIGKILL)
        killed = time.time()
        answer = long.result(timeout=60)  # an answer, not a hang
    answered = time.time() - killed
    assert answer.status_code >= 500 and answer.status_code != 504, answer.text
    assert post(faulty, "bigram", {"start_word": "the"}).status_code == 200  # the other model is untouched
    while post(faulty, "diffusion", SHORT).status_code != 200:
        assert time.time() - killed < 60, "the model did not come back within 60 s"
        time.sleep(0.2)
    back = time.time() - killed
    assert worker_pids(faulty, "diffusion") != [pid]
    print(f"killed worker: error answer after {answered:.1f} s, serving again after {back:.1f} s")


def test_a_full_queue_answers_503_at_once(faulty):
    with ThreadPoolExecutor(40) as pool:
        long = pool.submit(post, faulty, "diffusion", LONG)
        wait_until_busy()

        def timed(_):
            start = time.time()
            response = post(faulty, "diffusion", SHORT)
            return response.status_code, time.time() - start, response.text

        answers = list(pool.map(timed, range(30)))
        assert long.result().status_code == 200
    refused = [seconds for status, seconds, _ in answers if status == 503]
    served = [status for status, _, _ in answers if status == 200]
    # 16 wait in the queue (jobQueueSize); the rest are refused without waiting for the long request.
    assert len(served) + len(refused) == 30 and len(served) >= 16 and len(refused) >= 10, answers
    assert max(refused) < 2.0, refused
    print(f"full queue: {len(refused)} of 30 refused with 503, the slowest refusal in {max(refused):.2f} s")


def serve(workdir, config, model_store, command):
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "server.py"), command, "--workdir", str(workdir),
                           "--config", str(config), "--model-store", str(model_store)],
                          capture_output=True, text=True, timeout=300)


def test_stop_then_serve_and_serve_after_kill_9_always_come_back(tmp_path, model_store):
    config = on_free_ports(Path(shutil.copy(ROOT / "config.properties", tmp_path)), model_store=str(model_store))
    server = Server(tmp_path / "work", config, model_store)
    try:
        started = serve(server.workdir, config, model_store, "start")
        assert started.returncode == 0, started.stderr
        assert post(server, "bigram", {"start_word": "the"}).status_code == 200
        assert serve(server.workdir, config, model_store, "stop").returncode == 0
        assert not server.is_running() and not server.door_pid_file.exists()
        assert serve(server.workdir, config, model_store, "start").returncode == 0  # serve again after a stop
        assert post(server, "bigram", {"start_word": "the"}).status_code == 200
        frontend = int(server.pid_file.read_text())
        os.kill(frontend, signal.SIGKILL)
        deadline = time.time() + 30
        while server.is_running():
            assert time.time() < deadline
            time.sleep(0.1)
        started = serve(server.workdir, config, model_store, "start")  # the old door still holds the addresses
        assert started.returncode == 0, started.stderr
        assert post(server, "bigram", {"start_word": "the"}).status_code == 200
        assert post(server, "diffusion", SHORT).status_code == 200
        assert requests.post(f"{server.door_address('inference')}/predictions/bigram", json={"start_word": "the"},
                             headers=server.headers("inference"), timeout=60).status_code == 200
    finally:
        serve(server.workdir, config, model_store, "stop")


def test_a_client_that_hangs_up_mid_stream_stops_the_sampler(faulty):
    """On the inference address make serve prints (the door, scripts/gateway.py --door)."""
    # About the most a request to the default (2.0) may ask: 64 samples x 95 steps <= its cap (6100,
    # or less on a slow CPU), about 20 s alone.
    maximal = {"num_samples": 64, "diffusion_steps": cap_in_force(faulty, "diffusion") // 64, "seed": 1,
               "stream": True}
    door = urlsplit(faulty.door_address("inference"))
    assert door.port != urlsplit(faulty.inference_url).port  # TorchServe itself is behind it
    connection = http.client.HTTPConnection(door.hostname, door.port, timeout=60)
    connection.request("POST", "/predictions/diffusion", body=json.dumps(maximal), headers={
        **faulty.headers("inference"), "Content-Type": "application/json"})
    answer = connection.getresponse()
    lines = [json.loads(answer.readline()) for _ in range(3)]
    assert [line["step"] for line in lines] == [1, 2, 3]
    connection.sock.shutdown(socket.SHUT_RDWR)  # the client hangs up
    connection.close()
    hung_up = time.time()
    assert post(faulty, "diffusion", SHORT).status_code == 200
    waited = time.time() - hung_up
    log = (faulty.workdir / "logs" / "model_log.log").read_text()
    [stopped] = re.findall(r"stream cancelled: every client of this sampler call hung up, at step (\d+) of 95", log)
    assert int(stopped) <= 8, log[-2000:]
    assert waited < 5, waited  # not the ~20 s the rest of the request would have taken
    deadline = time.time() + 10
    while list(faulty.cancel_dir.iterdir()):  # the mark is removed once the worker has stopped
        assert time.time() < deadline
        time.sleep(0.1)
    cancelled = [line for line in requests.get(f"{faulty.metrics_url}/metrics", timeout=10).text.splitlines()
                 if line.startswith("StreamsCancelled{")]
    assert len(cancelled) == 1 and cancelled[0].endswith(" 1.0"), cancelled  # the metric counts it
    print(f"hang-up: sampler stopped at step {stopped} of 95; the next request answered {waited:.1f} s after")
