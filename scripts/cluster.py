"""`make cluster`: the scale-out design on one machine. Two replicas, each a TorchServe on loopback
with its gateway in front (scripts/gateway.py, one bearer secret for both), behind nginx as the load
balancer, all on free loopback ports; it runs until Ctrl-C and then stops everything.

    python scripts/cluster.py [--replicas 2] [--models bigram,gan]   # default: every model

nginx sends each request to the next replica; when a replica fails before answering (its TorchServe
or gateway gone), nginx passes the request to the other one (`proxy_next_upstream`, for POSTs too:
a prediction changes nothing on the server, so sending it twice is harmless) and leaves the failed
replica out for 5 s before trying it again. Streams pass through unbuffered.
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the project's packages
from models.catalog import ROOT  # noqa: E402
from scripts.server import Server, free_port, on_free_ports  # noqa: E402

NGINX_CONFIG = """\
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log {folder}/nginx-access.log;
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    client_max_body_size 20m;
    upstream replicas {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://replicas;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_request_buffering on;
            proxy_read_timeout 600s;
            proxy_next_upstream error timeout non_idempotent;
            proxy_next_upstream_tries 2;
        }}
    }}
}}
"""


@dataclass
class Replica:
    server: Server
    gateway: subprocess.Popen
    gateway_port: int


@dataclass
class Cluster:
    url: str
    secret: str
    replicas: list[Replica]

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"}


@contextmanager
def cluster(folder: Path, model_store: Path, models: list[str] | None = None, replicas: int = 2) -> Iterator[Cluster]:
    """A running cluster in `folder`, stopped on exit. `models`: the archives each replica loads
    (default: every one, as `make serve`)."""
    folder = Path(folder)
    secret = secrets.token_urlsafe(32)
    (folder / "bearer").write_text(secret)
    (folder / "bearer").chmod(0o600)
    started: list[Replica] = []
    nginx = None
    try:
        for index in range(replicas):
            work = folder / f"replica-{index}"
            work.mkdir(parents=True, exist_ok=True)
            changes = {"model_store": str(model_store)}
            if models is not None:
                changes["load_models"] = ",".join(f"{model}.mar" for model in models)
            config = on_free_ports(Path(shutil.copy(ROOT / "config.properties", work)), **changes)
            server = Server(work / "torchserve", config, model_store)
            server.start()
            port = free_port()
            gateway = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "gateway.py"), "--workdir",
                                        str(server.workdir), "--config", str(config), "--model-store", str(model_store),
                                        "--listen", "127.0.0.1",
                                        "--port", str(port), "--secret-file", str(folder / "bearer")],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            started.append(Replica(server, gateway, port))
        for replica in started:
            replica.server.wait_until_ready(sorted({m.split("_v")[0] for m in models}) if models
                                            else all_models(replica.server))
        port = free_port()
        servers = "\n".join(f"        server 127.0.0.1:{r.gateway_port} max_fails=1 fail_timeout=5s;" for r in started)
        (folder / "nginx.conf").write_text(NGINX_CONFIG.format(folder=folder, servers=servers, port=port))
        nginx = subprocess.Popen([shutil.which("nginx") or "/usr/sbin/nginx", "-c", str(folder / "nginx.conf"),
                                  "-p", str(folder), "-g", "daemon off;"], stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: all(requests.get(f"http://127.0.0.1:{r.gateway_port}/ready", timeout=5).ok for r in started))
        wait_for(lambda: requests.get(f"{url}/ready", timeout=5).ok)
        yield Cluster(url, secret, started)
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(timeout=30)
        for replica in started:
            replica.gateway.terminate()
            replica.gateway.wait(timeout=30)
            replica.server.stop()


def all_models(server: Server) -> list[str]:
    return [model["modelName"] for model in server.management("GET", "/models").json()["models"]]


def wait_for(condition, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while True:
        try:
            if condition():
                return
        except requests.RequestException:
            pass
        if time.time() > deadline:
            raise TimeoutError("the cluster did not come up")
        time.sleep(0.3)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--models", help="comma-separated archives each replica loads (default: every one)")
    parser.add_argument("--model-store", type=Path, default=ROOT / "archive" / "model-store")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="cluster-"))
    models = args.models.split(",") if args.models else None
    with cluster(folder, args.model_store, models, args.replicas) as running:
        print(f"{args.replicas} replicas behind nginx at {running.url}\n"
              f"  the bearer secret is in {folder / 'bearer'}:\n"
              f"  curl -H \"Authorization: Bearer $(cat {folder / 'bearer'})\" -H 'Content-Type: application/json' "
              f"-d '{{\"start_word\": \"the\"}}' {running.url}/predictions/bigram\n(stop with Ctrl-C)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
