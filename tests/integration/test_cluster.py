"""Two replicas behind nginx (scripts/cluster.py: TorchServe and its gateway each, one bearer
secret): requests spread over both; `kill -9` of one TorchServe loses no request (nginx passes a
failed one to the other replica); the killed one comes back and takes traffic again; a model
scaled up on one replica shows in that replica's metrics. Each replica serves bigram and gan only,
to keep two replicas inside this machine's memory beside the other tests' server."""

import os
import re
import signal
import threading
import time

import pytest
import requests

from scripts.cluster import cluster


@pytest.fixture(scope="module")
def running(tmp_path_factory, model_store):
    with cluster(tmp_path_factory.mktemp("cluster"), model_store, models=["bigram", "gan"]) as started:
        yield started


def served_by(replica) -> float:
    """bigram requests this replica's TorchServe has answered (its ModelRequests metric)."""
    text = requests.get(f"{replica.server.metrics_url}/metrics", timeout=10).text
    return sum(float(value) for value in re.findall(r'^ModelRequests\{[^}]*ModelName="bigram"[^}]*\} (\S+)$',
                                                    text, re.MULTILINE))


def ask(running, seed=1):
    return requests.post(f"{running.url}/predictions/bigram", json={"start_word": "the", "length": 3, "seed": seed},
                         headers=running.headers(), timeout=60)


def wait_for_metrics(condition, timeout=10):
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline
        time.sleep(0.2)


def test_the_secret_is_needed_and_requests_spread_over_both_replicas(running):
    assert requests.post(f"{running.url}/predictions/bigram", json={"start_word": "the"}, timeout=30).status_code == 401
    before = [served_by(replica) for replica in running.replicas]
    answers = [ask(running, seed) for seed in range(20)]
    assert all(answer.status_code == 200 for answer in answers)
    # Both replicas serve the same weights: the same seed gives the same text wherever it lands.
    assert len({ask(running, 7).json()["generated_text"] for _ in range(4)}) == 1
    wait_for_metrics(lambda: sum(served_by(r) for r in running.replicas) - sum(before) >= 24)
    spread = [served_by(replica) - old for replica, old in zip(running.replicas, before)]
    assert all(count >= 5 for count in spread), spread


def test_kill_9_of_one_replica_loses_no_request_and_it_comes_back(running):
    victim, survivor = running.replicas
    statuses, stop = [], threading.Event()

    def client():
        seed = 0
        while not stop.is_set():
            statuses.append(ask(running, seed).status_code)
            seed += 1

    thread = threading.Thread(target=client)
    thread.start()
    time.sleep(2)
    os.kill(int(victim.server.pid_file.read_text()), signal.SIGKILL)
    killed = time.time()
    time.sleep(4)
    stop.set()
    thread.join()
    assert statuses and all(status == 200 for status in statuses), statuses  # none lost
    print(f"{len(statuses)} requests while one replica was killed: all answered")

    deadline = time.time() + 30
    while victim.server.is_running():
        assert time.time() < deadline
        time.sleep(0.2)
    victim.server.start()
    victim.server.wait_until_ready(["bigram", "gan"])
    print(f"the killed replica served again {time.time() - killed:.1f} s after the kill")
    time.sleep(5)  # nginx's fail_timeout: then it tries the replica again
    before = served_by(victim)
    for seed in range(20):
        assert ask(running, seed).status_code == 200
    wait_for_metrics(lambda: served_by(victim) > before)


def test_a_model_scaled_up_on_one_replica_shows_in_its_metrics(running):
    replica = running.replicas[1]

    def bigram_workers():
        text = requests.get(f"{replica.server.metrics_url}/metrics", timeout=10).text
        return set(re.findall(r'WorkerLoadTime\{WorkerName="([^"]*bigram[^"]*)"', text))

    assert len(bigram_workers()) == 1
    response = replica.server.management("PUT", "/models/bigram", params={"min_worker": 2, "max_worker": 2,
                                                                         "synchronous": "true"})
    assert response.status_code == 200, response.text
    wait_for_metrics(lambda: len(bigram_workers()) == 2)
    assert len(running.replicas[0].server.management("GET", "/models/bigram").json()[0]["workers"]) == 1


def test_a_registration_reaches_one_replica_and_each_replica_is_registered_through_its_own_gateway(running):
    """The set of models is the image's (load_models); a registration is per replica. Through the
    Service's address it lands on one replica; to reach all, register through each one's gateway."""
    def has_gan_1(replica) -> bool:
        answer = replica.server.management("GET", "/models/gan/all")
        return "1.0" in [v["modelVersion"] for v in answer.json()]

    register = "/models?url=gan_v1.0.mar&model_name=gan&initial_workers=1&synchronous=true"
    assert not any(has_gan_1(replica) for replica in running.replicas)
    try:
        answer = requests.post(running.url + register, headers=running.headers(), timeout=300)
        assert answer.status_code == 200, answer.text
        assert sorted(has_gan_1(replica) for replica in running.replicas) == [False, True]
        for replica in running.replicas:
            if not has_gan_1(replica):
                answer = requests.post(f"http://127.0.0.1:{replica.gateway_port}{register}",
                                       headers=running.headers(), timeout=300)
                assert answer.status_code == 200, answer.text
        assert all(has_gan_1(replica) for replica in running.replicas)
        refused = requests.post(running.url + "/models?url=/etc/passwd", headers=running.headers(), timeout=60)
        assert refused.status_code == 400 and "is a path" in refused.json()["message"]
    finally:
        for replica in running.replicas:
            replica.server.management("DELETE", "/models/gan/1.0")
    assert not any(has_gan_1(replica) for replica in running.replicas)
