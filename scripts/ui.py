"""`make ui`: serve the web page (ui/) on loopback and print its address, with the inference key
in the URL fragment (which the browser never sends to any server, and no served file holds).

The page calls the inference API on its own origin: this server hands `POST /predictions/...`
to TorchServe's inference address as it came (the page's own Authorization header included) and
streams the answer back. A page on another origin cannot call TorchServe directly: the browser
first sends a CORS preflight (OPTIONS, which carries no Authorization header), and TorchServe 0.12
checks the token on every request, preflights included, so it refuses them (400). Nothing else is
served: the static files of ui/, and that one path.

The pass-through also does what TorchServe 0.12 cannot: it stops a stream whose client has gone.
Each request goes on with a fresh `X-Stream-Id` (any the client sent is dropped); when a write to
the client fails, it marks that id cancelled (handlers/cancellation.py), and the sampler stops at
its next step. Any client may use it (`tsclient --url http://127.0.0.1:8090`), not only the page.
"""

from __future__ import annotations

import argparse
import functools
import http.client
import re
import sys
import uuid
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from handlers.cancellation import STREAM_ID_HEADER, cancel_file  # noqa: E402
from scripts.server import DEFAULT_WORKDIR, Server, read_properties  # noqa: E402

PAGE = ROOT / "ui"
UI_PORT = 8090
PREDICTIONS = re.compile(r"^/predictions/[A-Za-z0-9_.-]+(/[0-9][0-9.]*)?$")
FORWARDED_HEADERS = ("Authorization", "Content-Type", "Accept")


class PageHandler(SimpleHTTPRequestHandler):
    inference: str  # TorchServe's inference address, set by page_server
    cancel_dir: Path  # where hung-up streams are marked (the server's <workdir>/cancelled)

    def do_POST(self) -> None:
        if not PREDICTIONS.match(self.path):
            self.send_error(404, "only POST /predictions/<model>[/<version>] is passed on")
            return
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        target = urlsplit(self.inference)
        upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=600)
        stream_id = uuid.uuid4().hex
        try:
            upstream.request("POST", self.path, body=body, headers={
                **{name: self.headers[name] for name in FORWARDED_HEADERS if self.headers.get(name)},
                STREAM_ID_HEADER: stream_id})
            answer = upstream.getresponse()
            self.pass_on(answer, stream_id)
        except (ConnectionError, TimeoutError, http.client.HTTPException) as error:
            self.log_error("TorchServe at %s: %s", self.inference, error)
            self.close_connection = True
        finally:
            upstream.close()

    def pass_on(self, answer: http.client.HTTPResponse, stream_id: str) -> None:
        """The answer to the client as it arrives (a sampler's stream stays live); if the client has
        gone, the stream is marked cancelled and the rest of the answer is read and dropped."""
        try:
            self.send_response(answer.status, answer.reason)
            self.send_header("Content-Type", answer.getheader("Content-Type", "application/octet-stream"))
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            while chunk := answer.read1(65536):
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            cancelled = cancel_file(stream_id, self.cancel_dir)
            cancelled.touch()
            try:
                while answer.read1(65536):  # until the worker has stopped
                    pass
            finally:
                cancelled.unlink(missing_ok=True)

    def log_message(self, format: str, *args: object) -> None:
        pass


def page_server(port: int, inference_url: str, cancel_dir: Path) -> ThreadingHTTPServer:
    """The static files of ui/ and the pass-through to `inference_url`, on 127.0.0.1:`port`;
    hung-up streams are marked in `cancel_dir`."""
    handler = type("Handler", (PageHandler,), {"inference": inference_url, "cancel_dir": Path(cancel_dir),
                                               "protocol_version": "HTTP/1.1"})
    return ThreadingHTTPServer(("127.0.0.1", port), functools.partial(handler, directory=str(PAGE)))


def page_address(port: int, key: str) -> str:
    return f"http://127.0.0.1:{port}/#{urlencode({'key': key})}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--config", type=Path, default=ROOT / "config.properties")
    parser.add_argument("--port", type=int, default=UI_PORT)
    args = parser.parse_args(argv)
    server = Server(args.workdir, args.config, ROOT / "archive" / "model-store")
    if not server.is_running():
        sys.exit("TorchServe is not running: start it with make serve")
    httpd = page_server(args.port, read_properties(args.config)["inference_address"], server.cancel_dir)
    print(f"The page: {page_address(args.port, server.keys()['inference'])}\n"
          "(the key travels in the fragment after #, never to a server; stop with Ctrl-C)", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
