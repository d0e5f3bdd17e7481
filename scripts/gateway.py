"""The front door: TorchServe's inference API passed on, with what TorchServe 0.12 cannot do itself.

    python scripts/gateway.py           # make ui: the web page on 127.0.0.1:8090, clients send TorchServe's key
    python scripts/gateway.py --listen 0.0.0.0 --port 8443 --secret-file FILE    # make gateway: a deployment's
    python scripts/gateway.py --door    # make serve starts it: config.properties' addresses

`--door` is make serve's: on each of config.properties' inference, management and metrics
addresses, that API's calls below (and `GET /ping`, and the token API's `GET /token?type=...`),
each with the client's own TorchServe key passed on for TorchServe to check, and on its gRPC ports
TorchServe's gRPC APIs (scripts/grpc_door.py); TorchServe listens on loopback ports of its own
(scripts/server.py). Otherwise, on one address, everything below.

It serves:
- `POST /predictions/<model>[/<version>]`, handed to TorchServe's inference address and the answer
  passed back with TorchServe's headers (Retry-After, Cache-Control, x-request-id), a stream as
  it arrives. Each request goes on with a fresh `X-Stream-Id` (any the client sent
  is dropped); when a write to the client fails, the gateway marks that stream cancelled and the
  sampler stops at its next step (handlers/cancellation.py): TorchServe never tells a worker that its
  client has gone.
- `GET /models`, `GET /models/<model>`, `GET /models/<model>/<version>` (`all` included, the query
  string such as `?customized=true` as sent): the management API's reads, the models served and
  what each version takes (the schema the client, the command line and the page are built from),
  handed to TorchServe's management address with its management key.
- The management API's changes: `POST /models?url=<archive>.mar&...` (a registration: only of an
  archive `make archive` recorded, unchanged since, archive/registration.py; anything else is a 400
  naming the reason, and TorchServe never sees it), `DELETE /models/<model>[/<version>]`,
  `PUT /models/<model>/<version>/set-default` and `PUT /models/<model>[/<version>]?min_worker=N...`
  (scaling). With a secret, the client sends it; without, TorchServe's management key.
- Keys. With `--secret-file`, clients send `Authorization: Bearer <secret>`, one secret for every
  replica of a deployment, compared in constant time; the gateway then sends TorchServe its own
  instance's key (inference or management), read from its key file and renewed when it expires
  (tsclient/keys.py). Without it, a prediction goes on with the client's own Authorization header
  unchanged (the page carries TorchServe's inference key), and a management read is let in for a
  client that sends TorchServe's current inference key, and goes on with the management key.
  TorchServe itself stays on loopback, reachable only from its gateway's host.
- `GET /ready`: 200 when every version of every model has all its workers READY (readiness), else
  503; `GET /healthz`: 200 while TorchServe answers its `/ping` (liveness); `GET /metrics`:
  TorchServe's Prometheus metrics, with the secret where there is one.
- The web page (ui/). It calls `/predictions/...` on its own origin: a page on another origin cannot
  call TorchServe directly, because the browser first sends a CORS preflight (OPTIONS, which carries
  no Authorization header) and TorchServe 0.12 checks the token on every request, preflights
  included, so it refuses them (400).
Nothing else.
"""

from __future__ import annotations

import argparse
import functools
import hmac
import http.client
import json
import re
import select
import signal
import sys
import threading
import uuid
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the project's packages
from archive.registration import RegistrationRefused, registrable_archive  # noqa: E402
from handlers.cancellation import STREAM_ID_HEADER, cancel_file  # noqa: E402
from models.catalog import ROOT  # noqa: E402
from scripts.grpc_door import grpc_doors  # noqa: E402
from scripts.server import APIS, DEFAULT_WORKDIR, Server  # noqa: E402
from tsclient.keys import fresh_key  # noqa: E402
from tsclient.properties import read_properties  # noqa: E402

PAGE = ROOT / "ui"
UI_PORT = 8090
PREDICTIONS = re.compile(r"/predictions/[A-Za-z0-9_.-]+(/[0-9][0-9.]*)?")
MANAGEMENT_READS = re.compile(r"/models(/[A-Za-z0-9][A-Za-z0-9_.-]*(/([0-9][0-9.]*|all))?)?")
MANAGEMENT_QUERY = ("customized", "limit", "next_page_token")  # what a describe or list call may pass on
MODEL_PATH = re.compile(r"/models/[A-Za-z0-9][A-Za-z0-9_.-]*(/[0-9][0-9.]*)?")
DEFAULT_PATH = re.compile(MODEL_PATH.pattern.removesuffix("?") + "/set-default")
# What a registration may pass on: not `handler` nor `runtime`, which would name code to run.
REGISTER_QUERY = ("url", "model_name", "initial_workers", "synchronous", "batch_size", "max_batch_delay",
                  "response_timeout", "startup_timeout")
SCALE_QUERY = ("min_worker", "max_worker", "synchronous", "timeout")
REFUSED = "send Authorization: Bearer <the deployment's secret>"
ALL_APIS = frozenset(["inference", "management", "metrics", "page"])  # "page": the page, /ready, /healthz
DEFAULT_MAX_REQUEST_SIZE = 6553500  # TorchServe's, where config.properties sets none
FORWARDED_HEADERS = ("Content-Type", "Accept")
# What an answer from TorchServe does not carry on to the client: the headers of its own connection
# (RFC 9110, 7.6.1) and its framing, which the gateway sets for its own. The rest (Retry-After,
# Cache-Control, x-request-id, ...) goes on.
HOP_BY_HOP_HEADERS = frozenset({"connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade",
                                "transfer-encoding", "content-length"})


def management_write(method: str, target: str, model_store: Path) -> str | None:
    """The management call (path and query) to send TorchServe for a client's write, rebuilt from
    the parts checked: a registration of a recorded archive of `model_store` (RegistrationRefused
    says why not), an unregistration, a change of default version, or a scaling; None if the target
    is no such call."""
    if not target.startswith("/") or target.startswith("//"):
        return None
    split = urlsplit(target)
    query = parse_qsl(split.query, keep_blank_values=True)

    def rebuilt(allowed: tuple[str, ...]) -> str:
        kept = urlencode([(name, value) for name, value in query if name in allowed])
        return split.path + (f"?{kept}" if kept else "")

    if method == "POST" and split.path == "/models":
        urls = [value for name, value in query if name == "url"]
        if len(urls) != 1:
            raise RegistrationRefused("url: send exactly one, the file name of an archive of the model store")
        registrable_archive(urls[0], model_store)
        names = [value for name, value in query if name == "model_name"]
        if any(not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", name) for name in names):
            raise RegistrationRefused("model_name: letters, digits, '_' and '-' only")
        return rebuilt(REGISTER_QUERY)
    if method == "DELETE" and MODEL_PATH.fullmatch(split.path):
        return split.path
    if method == "PUT" and DEFAULT_PATH.fullmatch(split.path):
        return split.path
    if method == "PUT" and MODEL_PATH.fullmatch(split.path):
        return rebuilt(SCALE_QUERY)
    return None


def token_path(target: str) -> str | None:
    """The token API's call (`/token?type=inference|management`, which renews a key for a client
    with the API key) for a client's target, rebuilt, or None."""
    split = urlsplit(target)
    kinds = [value for name, value in parse_qsl(split.query) if name == "type"]
    if split.path != "/token" or kinds not in (["inference"], ["management"]):
        return None
    return f"/token?type={kinds[0]}"


def management_read_path(target: str) -> str | None:
    """The management call to send TorchServe for a client's request target, rebuilt from the parts
    checked (a path of MANAGEMENT_READS and the query parameters of MANAGEMENT_QUERY), or None if
    the target is not such a call. Only a target that starts with one "/" is a path: anything else
    (`host:/models`, `http://elsewhere/models`) would name another address once appended."""
    if not target.startswith("/") or target.startswith("//"):
        return None
    split = urlsplit(target)
    if not MANAGEMENT_READS.fullmatch(split.path):
        return None
    query = urlencode([(name, value) for name, value in parse_qsl(split.query) if name in MANAGEMENT_QUERY])
    return split.path + (f"?{query}" if query else "")


class GatewayHandler(SimpleHTTPRequestHandler):
    server_: Server  # the TorchServe behind it (addresses, key file, cancel folder); set by gateway
    secret: bytes | None  # the deployment's bearer secret, or None: clients send TorchServe's key
    apis: frozenset[str]  # what this address serves, of ALL_APIS
    client_keys: bool  # make serve's door: every call goes on with the client's own Authorization
    max_request_size: int  # TorchServe's limit, applied before a body is read
    # TCP_NODELAY on the client's socket: an answer goes out in several writes (the headers, each
    # chunk, the last chunk), and with Nagle's algorithm each write after the first waits for the
    # client's ACK, which the client delays by up to 40 ms: 44 ms more per request, measured.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if "page" in self.apis and self.path == "/ready":
            self.answer_status(self.server_.all_ready())
        elif "page" in self.apis and self.path == "/healthz":
            self.answer_status(self.alive())
        elif "inference" in self.apis and path == "/ping":
            self.ping()
        elif "metrics" in self.apis and path == "/metrics":
            self.metrics()
        elif "management" in self.apis and management_read_path(self.path) is not None:
            self.management_read()
        elif "management" in self.apis and self.client_keys and token_path(self.path) is not None:
            self.management_call("GET", token_path(self.path), self.headers.get("Authorization", ""))
        elif "page" in self.apis:
            super().do_GET()
        else:
            self.json_error(404, f"not a call of the {'/'.join(sorted(self.apis))} API this address passes on")

    def do_POST(self) -> None:
        if urlsplit(self.path).path == "/models" and "management" in self.apis:
            self.management_change("POST")
            return
        if not PREDICTIONS.fullmatch(self.path) or "inference" not in self.apis:
            self.json_error(404, "only POST /predictions/<model>[/<version>] is passed on")
            return
        authorization = self.authorization("inference")
        if authorization is None:
            self.send_error(401, REFUSED)
            return
        body = self.request_body()
        if body is None:
            return
        stream_id = uuid.uuid4().hex
        try:
            answer = self.ask_torchserve(body, {
                **{name: self.headers[name] for name in FORWARDED_HEADERS if self.headers.get(name)},
                **({"Authorization": authorization} if authorization else {}), STREAM_ID_HEADER: stream_id})
            self.pass_on(answer, stream_id)
        except (OSError, http.client.HTTPException) as error:
            # No answer, not a 502: a client closed without one knows that this replica failed before
            # answering, and the cluster's nginx sends the request to the other one.
            self.log_error("TorchServe at %s: %s", self.server_.inference_url, error)
            self.close_connection = True
            self.close_upstream()

    def setup(self) -> None:
        super().setup()
        # This client's connection to TorchServe's inference address, kept while the client keeps
        # its own, rather than a new one for each request.
        self.upstream: http.client.HTTPConnection | None = None

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.close_upstream()

    def close_upstream(self) -> None:
        if self.upstream is not None:
            self.upstream.close()
            self.upstream = None

    def ask_torchserve(self, body: bytes, headers: dict[str, str]) -> http.client.HTTPResponse:
        """TorchServe's answer to this prediction, over the kept connection, or a new one where
        TorchServe has closed it (an idle connection with something to read has been closed: the
        request is never sent twice)."""
        if self.upstream is not None and self.upstream.sock is not None and select.select(
                [self.upstream.sock], [], [], 0)[0]:
            self.close_upstream()
        if self.upstream is None:
            target = urlsplit(self.server_.inference_url)
            self.upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=600)
        self.upstream.request("POST", self.path, body=body, headers=headers)
        return self.upstream.getresponse()

    def request_body(self) -> bytes | None:
        """The request's body; None once a 413 (over TorchServe's max_request_size, the empty answer
        TorchServe gives) or a 411 (no length) has been sent instead."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.json_error(411, "send the body with a Content-Length")
            self.close_connection = True
            return None
        length = int(self.headers.get("Content-Length") or 0)
        if length > self.max_request_size:
            self.send_response(413)
            self.send_header("Content-Length", "0")
            self.end_headers()
            self.close_connection = True
            return None
        return self.rfile.read(length)

    def do_PUT(self) -> None:
        if "management" not in self.apis:
            self.json_error(404, "not a call this address passes on")
            return
        self.management_change("PUT")

    def do_DELETE(self) -> None:
        if "management" not in self.apis:
            self.json_error(404, "not a call this address passes on")
            return
        self.management_change("DELETE")

    def do_PATCH(self) -> None:
        self.json_error(405, "not a call of the management API this gateway passes on")

    def management_change(self, method: str) -> None:
        """A registration (of a recorded archive only: archive/registration.py), an unregistration,
        a change of default or a scaling, for a client that sends the deployment's secret (without
        one: TorchServe's management key); TorchServe gets its management key."""
        if self.request_body() is None:
            return
        authorization = self.authorization("management", write=True)
        if authorization is None:
            self.json_error(401, REFUSED)
            return
        try:
            path = management_write(method, self.path, self.server_.model_store)
        except RegistrationRefused as refused:
            self.json_error(400, str(refused))
            return
        if path is None:
            self.json_error(405, "not a call of the management API this gateway passes on: POST /models?url=<archive>"
                                 ", DELETE /models/<model>/<version>, PUT /models/<model>/<version>/set-default, "
                                 "PUT /models/<model>?min_worker=N")
            return
        self.management_call(method, path, authorization)

    def json_error(self, status: int, message: str) -> None:
        if self.command != "GET":  # a body it may not have read would be taken for the next request
            self.close_connection = True
        body = json.dumps({"code": status, "message": message}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def management_read(self) -> None:
        """A read of the management API (the models, their versions, a version's schema), let in as
        a prediction is; TorchServe gets its management key."""
        authorization = self.authorization("management")
        if authorization is None:
            self.send_error(401, REFUSED)
            return
        self.management_call("GET", management_read_path(self.path), authorization)

    def management_call(self, method: str, path: str, authorization: str) -> None:
        try:
            answer = requests.request(method, self.server_.management_url + path,
                                      headers={"Authorization": authorization}, timeout=600, allow_redirects=False)
        except requests.RequestException as error:
            self.log_error("TorchServe at %s: %s", self.server_.management_url, error)
            self.send_error(502, "TorchServe's management API did not answer")
            return
        self.pass_back(answer)

    def pass_back(self, answer: requests.Response) -> None:
        """A whole answer of TorchServe's, as it came: status, content type, body."""
        self.send_response(answer.status_code)
        self.send_header("Content-Type", answer.headers.get("Content-Type", "application/json"))
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    def ping(self) -> None:
        """TorchServe's health answer, with the client's key."""
        authorization = self.authorization("inference")
        if authorization is None:
            self.send_error(401, REFUSED)
            return
        try:
            answer = requests.get(f"{self.server_.inference_url}/ping", timeout=30,
                                  headers={"Authorization": authorization} if authorization else {})
        except requests.RequestException:
            self.json_error(502, "TorchServe did not answer")
            return
        self.pass_back(answer)

    def metrics(self) -> None:
        """TorchServe's metrics (on loopback), for a scraper that sends the deployment's secret."""
        if self.authorization("inference") is None:
            self.send_error(401, REFUSED)
            return
        body = requests.get(f"{self.server_.metrics_url}/metrics", timeout=30).content
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def authorization(self, api: str, write: bool = False) -> str | None:
        """The Authorization header to send TorchServe's `api` ("inference" or "management"), "" for
        none, or None to refuse the request. With a secret, the client must send it; without one, a
        prediction (or a metrics scrape) goes on with the client's own header, for TorchServe to
        check, a management read needs TorchServe's current inference key, as the page has, and a
        management change (`write`) goes on with the client's header, for TorchServe to check. At
        make serve's door (`client_keys`) every call goes on with the client's header."""
        sent = self.headers.get("Authorization", "").encode()
        if self.client_keys or self.secret is None and (api == "inference" or write):
            return sent.decode()
        expected = self.secret if self.secret is not None else self.key("inference").encode()
        if not hmac.compare_digest(sent, b"Bearer " + expected):
            return None
        return f"Bearer {self.key(api)}"

    def key(self, api: str) -> str:
        return fresh_key(self.server_.workdir / "key_file.json", api, self.server_.management_url)

    def pass_on(self, answer: http.client.HTTPResponse, stream_id: str) -> None:
        """The answer to the client as it arrives (a sampler's stream stays live); if the client has
        gone, the stream is marked cancelled and the rest of the answer is read and dropped."""
        try:
            self.send_response(answer.status, answer.reason)
            for name, value in answer.getheaders():
                if name.lower() not in HOP_BY_HOP_HEADERS:
                    self.send_header(name, value)
            if not answer.chunked:  # a whole answer
                body = answer.read()
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            self.send_header("Transfer-Encoding", "chunked")  # a stream: each part as it arrives
            self.end_headers()
            while chunk := answer.read1(65536):
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            cancelled = cancel_file(stream_id, self.server_.cancel_dir)
            cancelled.touch()
            try:
                while answer.read1(65536):  # until the worker has stopped
                    pass
            finally:
                cancelled.unlink(missing_ok=True)

    def alive(self) -> bool:
        try:
            return requests.get(f"{self.server_.inference_url}/ping", headers=self.server_.headers("inference"),
                                timeout=10).ok
        except (requests.RequestException, OSError, ValueError, KeyError):
            return False

    def answer_status(self, ok: bool) -> None:
        body = b"ok\n" if ok else b"not ready\n"
        self.send_response(200 if ok else 503)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def gateway(server: Server, port: int, listen: str = "127.0.0.1", secret: bytes | None = None,
            apis: frozenset[str] = ALL_APIS, client_keys: bool = False) -> ThreadingHTTPServer:
    """The gateway in front of `server`, on `listen`:`port`, serving `apis` (not yet serving: call
    serve_forever)."""
    limit = int(read_properties(server.config).get("max_request_size", DEFAULT_MAX_REQUEST_SIZE))
    handler = type("Handler", (GatewayHandler,), {"server_": server, "secret": secret, "apis": apis,
                                                  "client_keys": client_keys, "max_request_size": limit,
                                                  "protocol_version": "HTTP/1.1"})
    return ThreadingHTTPServer((listen, port), functools.partial(handler, directory=str(PAGE)))


def door(server: Server) -> list[ThreadingHTTPServer]:
    """make serve's door: on each configured address (config.properties) that API alone, every call
    with the client's own key, in front of TorchServe's loopback ports."""
    doors = []
    for api in APIS:
        address = urlsplit(server.door_address(api))
        doors.append(gateway(server, address.port, address.hostname, apis=frozenset([api]), client_keys=True))
    return doors


def page_address(port: int, key: str) -> str:
    return f"http://127.0.0.1:{port}/#{urlencode({'key': key})}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--config", type=Path, default=ROOT / "config.properties")
    parser.add_argument("--model-store", type=Path, default=ROOT / "archive" / "model-store",
                        help="the archives a registration may name (with their SHA256SUMS)")
    parser.add_argument("--listen", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=UI_PORT)
    parser.add_argument("--secret-file", type=Path, help="the bearer secret clients send (one line)")
    parser.add_argument("--door", action="store_true",
                        help="make serve's door: the config's inference, management and metrics addresses")
    args = parser.parse_args(argv)
    server = Server(args.workdir, args.config, args.model_store)
    if args.door:
        grpc_servers = grpc_doors(server, server.workdir / "grpc")  # kept: a gRPC server that is collected stops
        for grpc_server in grpc_servers:
            grpc_server.start()
        serve_all(door(server))
        return
    secret = args.secret_file.read_text().strip().encode() if args.secret_file else None
    if secret is not None and len(secret) < 32:
        sys.exit(f"{args.secret_file}: the secret must be at least 32 characters")
    httpd = gateway(server, args.port, args.listen, secret)
    if secret is None:
        if not server.is_running():
            sys.exit("TorchServe is not running: start it with make serve")
        print(f"The page: {page_address(args.port, server.keys()['inference'])}\n"
              "(the key travels in the fragment after #, never to a server; stop with Ctrl-C)", flush=True)
    else:
        print(f"gateway on {args.listen}:{args.port} in front of {server.inference_url}", flush=True)
    serve_all([httpd])


def serve_all(servers: list[ThreadingHTTPServer]) -> None:
    """Serve every one until Ctrl-C or SIGTERM."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    for httpd in servers[1:]:
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        servers[0].serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
