"""TorchServe's logs under archive/log4j2.xml: an answered request, streamed or not, writes its
access-log line (in access_log.log and on stdout) and none of the lines TorchServe's own file writes
for every request; what the workers and handlers log still reaches model_log.log and stdout
(tests/integration/test_faults.py reads a cancelled stream's line there)."""

import json
import time

import requests

PER_REQUEST = ("Looping backend response", "Backend response time", "Sending response for jobId",
               "result=[METRICS]", "Backend received inference", "Flushing req.cmd", "Waiting time ns")
FILES = ("ts_log.log", "model_log.log", "access_log.log")


def lines(server, name: str) -> list[str]:
    path = server.workdir / ("torchserve.out" if name == "stdout" else f"logs/{name}")
    return path.read_text().splitlines()


def test_an_answered_request_writes_its_access_log_line_and_none_of_the_per_request_lines(server, client):
    before = {name: len(lines(server, name)) for name in (*FILES, "stdout")}
    for _ in range(5):
        assert client.predict("bigram", {"start_word": "the", "length": 3}).status_code == 200
    streamed = requests.post(f"{server.inference_url}/predictions/diffusion", headers=client.headers, timeout=120,
                             json={"num_samples": 1, "diffusion_steps": 3, "seed": 1, "stream": True})
    assert [json.loads(line)["step"] for line in streamed.text.splitlines()[:3]] == [1, 2, 3]
    time.sleep(0.5)
    written = {name: lines(server, name)[count:] for name, count in before.items()}
    assert [line for name in ("ts_log.log", "model_log.log", "stdout") for line in written[name]
            if any(marker in line for marker in PER_REQUEST)] == []
    for name in ("access_log.log", "stdout"):
        assert sum('"POST /predictions/bigram HTTP/1.1" 200' in line for line in written[name]) == 5, name
        assert sum('"POST /predictions/diffusion HTTP/1.1" 200' in line for line in written[name]) == 1, name
    assert not any("/predictions/" in line for line in written["ts_log.log"])  # not a second time


def test_the_workers_and_handlers_lines_still_reach_the_model_log_and_stdout(server):
    for name in ("model_log.log", "stdout"):
        log = lines(server, name)
        assert any("Torch worker started." in line for line in log), name
        assert any("ms a sample-step; cost cap in force" in line for line in log), name  # handlers/iterative_sampler.py
    assert any("State change" in line for line in lines(server, "ts_log.log"))  # TorchServe's DEBUG lines stay
