"""tsclient's retries against a stand-in server: a full queue (503) is retried after Retry-After."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tsclient import Client


def test_a_full_queue_is_retried_after_the_time_the_server_asks_for(tmp_path):
    answers = [(503, {"Retry-After": "0"}), (503, {}), (200, {})]
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            seen.append(self.headers["Authorization"])
            self.rfile.read(int(self.headers["Content-Length"]))
            status, headers = answers[len(seen) - 1]
            body = json.dumps({"generated_text": "the sea"} if status == 200 else {"code": 503}).encode()
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = Client(url=f"http://127.0.0.1:{server.server_port}", key="k", backoff=0.01)
        assert client.bigram("the") == "the sea"
        assert seen == ["Bearer k"] * 3
    finally:
        server.shutdown()
