"""TorchServe's logs under archive/log4j2.xml: an answered request writes its access-log line and
nothing else; what the workers and handlers log still reaches model_log.log (tests/integration/
test_faults.py reads a cancelled stream's line there)."""

import time

PER_REQUEST = ("Looping backend response", "Backend response time", "Sending response for jobId",
               "result=[METRICS]", "Backend received inference", "Flushing req.cmd", "Waiting time ns")


def lines(server, name: str) -> list[str]:
    return (server.workdir / "logs" / name).read_text().splitlines()


def test_an_answered_request_writes_one_access_log_line(server, client):
    before = {name: len(lines(server, name)) for name in ("ts_log.log", "model_log.log", "access_log.log")}
    for _ in range(5):
        assert client.predict("bigram", {"start_word": "the", "length": 3}).status_code == 200
    time.sleep(0.5)
    written = {name: lines(server, name)[count:] for name, count in before.items()}
    assert [line for name in ("ts_log.log", "model_log.log") for line in written[name]
            if any(marker in line for marker in PER_REQUEST)] == []
    assert sum('"POST /predictions/bigram HTTP/1.1" 200' in line for line in written["access_log.log"]) == 5
    stdout = (server.workdir / "torchserve.out").read_text()
    assert not any(marker in stdout for marker in PER_REQUEST)


def test_the_workers_and_handlers_lines_still_reach_the_model_log(server):
    log = lines(server, "model_log.log")
    assert any("Torch worker started." in line for line in log)
    assert any("ms a sample-step; cost cap in force" in line for line in log)  # handlers/iterative_sampler.py
