"""`make ui`: serve the web page (ui/) on loopback and print its address, with the inference key
in the URL fragment (which the browser never sends to any server, and no served file holds).

The page calls the inference API on its own origin: this server hands `POST /predictions/...`
to TorchServe's inference address as it came (the page's own Authorization header included) and
streams the answer back. A page on another origin cannot call TorchServe directly: the browser
first sends a CORS preflight (OPTIONS, which carries no Authorization header), and TorchServe 0.12
checks the token on every request, preflights included, so it refuses them (400). Nothing else is
served: the static files of ui/, and that one path.
"""

from __future__ import annotations

import argparse
import functools
import http.client
import re
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from scripts.server import DEFAULT_WORKDIR, Server, read_properties  # noqa: E402

PAGE = ROOT / "ui"
UI_PORT = 8090
PREDICTIONS = re.compile(r"^/predictions/[A-Za-z0-9_.-]+(/[0-9][0-9.]*)?$")
FORWARDED_HEADERS = ("Authorization", "Content-Type", "Accept")


class PageHandler(SimpleHTTPRequestHandler):
    inference: str  # TorchServe's inference address, set by page_server

    def do_POST(self) -> None:
        if not PREDICTIONS.match(self.path):
            self.send_error(404, "only POST /predictions/<model>[/<version>] is passed on")
            return
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        target = urlsplit(self.inference)
        upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=600)
        try:
            upstream.request("POST", self.path, body=body, headers={
                name: self.headers[name] for name in FORWARDED_HEADERS if self.headers.get(name)})
            answer = upstream.getresponse()
            self.send_response(answer.status, answer.reason)
            self.send_header("Content-Type", answer.getheader("Content-Type", "application/octet-stream"))
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            while chunk := answer.read1(65536):  # as it arrives: a sampler's stream stays live
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except (ConnectionError, TimeoutError, http.client.HTTPException) as error:
            self.log_error("TorchServe at %s: %s", self.inference, error)
            self.close_connection = True
        finally:
            upstream.close()

    def log_message(self, format: str, *args: object) -> None:
        pass


def page_server(port: int, inference_url: str) -> ThreadingHTTPServer:
    """The static files of ui/ and the pass-through to `inference_url`, on 127.0.0.1:`port`."""
    handler = type("Handler", (PageHandler,), {"inference": inference_url, "protocol_version": "HTTP/1.1"})
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
    httpd = page_server(args.port, read_properties(args.config)["inference_address"])
    print(f"The page: {page_address(args.port, server.keys()['inference'])}\n"
          "(the key travels in the fragment after #, never to a server; stop with Ctrl-C)", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
