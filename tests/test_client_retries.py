"""tsclient against a stand-in server that describes a model of its own, as a gateway does: a full
queue (503) is retried after Retry-After; keywords are checked against the schema before anything is
sent; the command line's arguments are whatever the schema says, for a model it has never seen."""

import contextlib
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from tsclient import Client
from tsclient.__main__ import help_text, main

SCHEMA = {"model": "toy", "version": "1.0", "request": {"content": "json", "body": "a JSON object", "fields": {
    "x": {"type": "number", "required": True, "bounds": [-100.0, 100.0]},
    "rounding": {"type": "string", "required": False, "default": "none", "choices": ["none", "floor"]},
    "repeat": {"type": "integer", "required": False, "default": 1, "bounds": [1, 3]}}}, "weights": {}}
MANAGEMENT = {"/models": {"models": [{"modelName": "toy", "modelUrl": "toy.mar"}]},
              "/models/toy/all": [{"modelName": "toy", "modelVersion": "1.0"}],
              "/models/toy": [{"modelName": "toy", "modelVersion": "1.0"}],
              "/models/toy?customized=true": [{"modelVersion": "1.0", "customizedMetadata": json.dumps(SCHEMA)}],
              "/models/toy/1.0?customized=true": [{"modelVersion": "1.0", "customizedMetadata": json.dumps(SCHEMA)}]}


@pytest.fixture
def stand_in():
    """The server, its answers to predictions in turn ((status, headers, body)), and the requests seen."""
    answers, seen = [], []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.answer(200, {}, MANAGEMENT[self.path]) if self.path in MANAGEMENT else self.answer(404, {}, {})

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append((urlsplit(self.path).path, self.headers["Authorization"], body))
            self.answer(*answers[len(seen) - 1])

        def answer(self, status, headers, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(data))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", answers, seen
    finally:
        server.shutdown()


def test_a_full_queue_is_retried_after_the_time_the_server_asks_for(stand_in):
    url, answers, seen = stand_in
    answers.extend([(503, {"Retry-After": "0"}, {"code": 503}), (503, {}, {"code": 503}), (200, {}, {"y": 4.0})])
    client = Client(url=url, key="k", backoff=0.01)
    assert client.predict("toy", x=1.5) == {"y": 4.0}
    assert seen == [("/predictions/toy", "Bearer k", {"x": 1.5})] * 3


def test_keywords_are_checked_against_the_schema_before_anything_is_sent(stand_in):
    url, _, seen = stand_in
    client = Client(url=url, key="k")
    with pytest.raises(TypeError, match=r"^toy 1.0 has no field 'y'; its fields are x, rounding, repeat$"):
        client.predict("toy", x=1.0, y=2)
    with pytest.raises(TypeError, match="does not stream"):
        client.stream("toy", x=1.0)
    assert seen == []


def test_the_command_line_is_built_from_the_schema_of_a_model_it_has_never_seen(stand_in):
    url, answers, seen = stand_in
    options = ["--url", url, "--key", "k"]
    assert "toy" in help_text(options)
    shown = " ".join(help_text([*options, "toy"]).split())
    assert "x a number in -100..100 (required)" in shown
    assert "--rounding {none,floor} one of none, floor (default none)" in shown
    assert "--repeat N an integer in 1..3 (default 1)" in shown
    answers.append((200, {}, {"x": 1.5, "y": 4.0}))
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main([*options, "--json", "toy", "1.5", "--repeat", "2"]) == 0
    assert json.loads(printed.getvalue()) == {"x": 1.5, "y": 4.0} and seen[-1][2] == {"x": 1.5, "repeat": 2}
    with pytest.raises(SystemExit) as refused, contextlib.redirect_stderr(io.StringIO()) as error:
        main([*options, "toy", "1.5", "--repeat", "4"])
    assert refused.value.code == 2 and "'4' is not an integer in 1..3" in error.getvalue()
