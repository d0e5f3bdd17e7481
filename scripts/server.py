"""Start, wait for, stop and manage a TorchServe that serves this project's archives.

    python scripts/server.py start                 # check the archives, start, wait until every worker is READY
    python scripts/server.py stop
    python scripts/server.py run                   # check the archives, run TorchServe in the foreground
    python scripts/server.py ready                 # exit status 0 if every worker of every model is READY

The server runs in a working directory of its own (`.torchserve/` for `make serve`): its
`key_file.json` (the tokens), its logs, and its pid file, so a second server (the tests') can run
beside it without either one stopping the other.

`start` (make serve) puts the gateway (scripts/gateway.py `--door`) on the inference, management and
metrics addresses of config.properties, and on its two gRPC ports (scripts/grpc_door.py), each
passing on its API with the gateway's guarantees (cancellation when a client hangs up, the
registration guard), and TorchServe behind it on free loopback ports, written into the working
directory's `config.started.properties`. `run` (a
container's main process) and TorchServe started by hand listen on the configured addresses
themselves.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the project's packages
from archive import checksums  # noqa: E402
from archive.build import find_archives, load_models  # noqa: E402
from archive.registration import RegistrationRefused, registrable_archive  # noqa: E402
from handlers.cancellation import CANCEL_DIR_ENV  # noqa: E402
from models.catalog import ROOT  # noqa: E402
from tsclient.keys import fresh_key, read_keys  # noqa: E402
from tsclient.properties import read_properties  # noqa: E402

DEFAULT_WORKDIR = ROOT / ".torchserve"
TORCHSERVE = Path(sys.executable).parent / "torchserve"
# TorchServe's logging: one line a request (its access log) instead of its own file's 36.
LOG_CONFIG = ROOT / "archive" / "log4j2.xml"


def write_properties(properties: dict[str, str], path: Path) -> None:
    Path(path).write_text("".join(f"{key}={value}\n" for key, value in properties.items()))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def on_free_ports(config: Path, **changes: str) -> Path:
    """Rewrite a config.properties so that every address is on a free port; also apply `changes`.
    Nothing else changes."""
    properties = read_properties(config)
    properties.update({
        "inference_address": f"http://127.0.0.1:{free_port()}",
        "management_address": f"http://127.0.0.1:{free_port()}",
        "metrics_address": f"http://127.0.0.1:{free_port()}",
        "grpc_inference_port": str(free_port()),
        "grpc_management_port": str(free_port()),
        # Workers talk to the frontend over /tmp/.ts.sock.<port>: keep clear of another server's.
        "initial_worker_port": str(free_port()),
        **changes,
    })
    write_properties(properties, config)
    return config


APIS = ("inference", "management", "metrics")
GRPC_APIS = ("inference", "management")


def reap(pid: int) -> None:
    """Collect `pid`'s exit status if it is our child (a test's door), so that it does not linger as a zombie."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def listening(url: str) -> bool:
    address = urlsplit(url)
    try:
        socket.create_connection((address.hostname, address.port), timeout=1).close()
    except OSError:
        return False
    return True


class Server:
    """A TorchServe in `workdir`, configured by `config`. Its addresses (`inference_url`, ...) are the
    ones it was started on: the started configuration's, once there is one."""

    def __init__(self, workdir: Path, config: Path, model_store: Path) -> None:
        self.workdir = Path(workdir)
        self.config = Path(config)
        self.model_store = Path(model_store)

    @property
    def started(self) -> Path:
        return self.workdir / "config.started.properties"

    def address(self, api: str) -> str:
        """TorchServe's own address of `api` ("inference", "management" or "metrics")."""
        return read_properties(self.started if self.started.exists() else self.config)[f"{api}_address"]

    @property
    def inference_url(self) -> str:
        return self.address("inference")

    @property
    def management_url(self) -> str:
        return self.address("management")

    @property
    def metrics_url(self) -> str:
        return self.address("metrics")

    def door_address(self, api: str) -> str:
        """The configured address of `api`: the door's, when `start(behind_door=True)` started it."""
        return read_properties(self.config)[f"{api}_address"]

    def grpc_address(self, api: str) -> str:
        """TorchServe's own gRPC address ("inference" or "management"), host:port."""
        properties = read_properties(self.started if self.started.exists() else self.config)
        return f"{properties[f'grpc_{api}_address']}:{properties[f'grpc_{api}_port']}"

    def door_grpc_address(self, api: str) -> str:
        """The configured gRPC address of `api`, host:port: the door's behind_door."""
        properties = read_properties(self.config)
        return f"{properties[f'grpc_{api}_address']}:{properties[f'grpc_{api}_port']}"

    @property
    def pid_file(self) -> Path:
        # torchserve keeps its pid in tempfile.gettempdir(), which follows TMPDIR.
        return self.workdir / "tmp" / ".model_server.pid"

    @property
    def door_pid_file(self) -> Path:
        return self.workdir / "door.pid"

    @property
    def cancel_dir(self) -> Path:
        return self.workdir / "cancelled"

    def _environment(self) -> dict[str, str]:
        (self.workdir / "tmp").mkdir(parents=True, exist_ok=True)
        # Where a front door marks streams whose client hung up (handlers/cancellation.py).
        self.cancel_dir.mkdir(mode=0o700, exist_ok=True)
        return {**os.environ, "TMPDIR": str(self.workdir / "tmp"), CANCEL_DIR_ENV: str(self.cancel_dir),
                "LOG_LOCATION": str(self.workdir / "logs"), "METRICS_LOCATION": str(self.workdir / "logs")}

    def _torchserve(self, *args: str) -> None:
        env = self._environment()
        # Not a pipe: the Java frontend inherits these and would hold a pipe open forever.
        output = self.workdir / "torchserve.out"
        with open(output, "w") as out:
            result = subprocess.run([str(TORCHSERVE), *args], cwd=self.workdir, env=env,
                                    stdout=out, stderr=subprocess.STDOUT)
        if result.returncode != 0:
            raise RuntimeError(f"torchserve {' '.join(args)} failed:\n{output.read_text()}")

    def is_running(self) -> bool:
        try:
            pid = int(self.pid_file.read_text().strip())
            os.kill(pid, 0)
        except (FileNotFoundError, ValueError, ProcessLookupError):
            return False
        return True

    def start(self, behind_door: bool = False) -> None:
        """Start TorchServe; `behind_door`: on free loopback ports, with the gateway on the configured
        addresses (scripts/gateway.py --door)."""
        if self.is_running():
            raise RuntimeError(f"a TorchServe from {self.workdir} is already running; stop it first")
        self.stop_door()  # one left from a TorchServe that was killed holds the addresses
        (self.workdir / "key_file.json").unlink(missing_ok=True)
        self._torchserve("--start", *self.serving_arguments(self.started_config(behind_door)))
        if behind_door:
            self.start_door()

    def serving_arguments(self, config: Path) -> list[str]:
        """What `torchserve --start` is given besides how it runs: the configuration, the model
        store and the logging."""
        return ["--ncs", "--ts-config", str(config), "--model-store", str(self.model_store.resolve()),
                "--log-config", str(LOG_CONFIG)]

    def started_config(self, behind_door: bool = False) -> Path:
        """The configuration as TorchServe gets it: the metrics configuration's path (relative to the
        project, as in config.properties) made absolute, since TorchServe runs in the work directory;
        `behind_door`: its HTTP addresses moved to free loopback ports."""
        properties = read_properties(self.config)
        if "metrics_config" in properties:
            properties["metrics_config"] = str((ROOT / properties["metrics_config"]).resolve())
        if behind_door:
            properties.update({f"{api}_address": f"http://127.0.0.1:{free_port()}" for api in APIS})
            properties.update({f"grpc_{api}_port": str(free_port()) for api in GRPC_APIS})
        self.workdir.mkdir(parents=True, exist_ok=True)
        write_properties(properties, self.started)
        return self.started

    def start_door(self, timeout: float = 30) -> None:
        """The gateway on the configured addresses, in a process of its own; returns once it listens."""
        log = self.workdir / "door.log"
        with open(log, "w") as out:
            door = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "gateway.py"), "--door",
                                     "--workdir", str(self.workdir), "--config", str(self.config),
                                     "--model-store", str(self.model_store)],
                                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
        self.door_pid_file.write_text(f"{door.pid}\n")
        deadline = time.time() + timeout
        addresses = [self.door_address(api) for api in APIS] + [f"//{self.door_grpc_address(api)}" for api in GRPC_APIS]
        while not all(listening(address) for address in addresses):
            if door.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"the gateway on {', '.join(addresses)} did not start:\n{log.read_text()}")
            time.sleep(0.1)

    def stop_door(self) -> None:
        try:
            pid = int(self.door_pid_file.read_text().strip())
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                reap(pid)
                os.kill(pid, 0)
                time.sleep(0.05)
        except (FileNotFoundError, ValueError, ProcessLookupError):
            pass
        self.door_pid_file.unlink(missing_ok=True)

    def stop(self) -> None:
        self.stop_door()
        if self.is_running():
            self._torchserve("--stop")
            for _ in range(300):
                if not self.is_running():
                    break
                time.sleep(0.1)

    def keys(self) -> dict[str, str]:
        """The tokens TorchServe generated: {"inference": ..., "management": ..., "API": ...}."""
        return {name: entry["key"] for name, entry in read_keys(self.workdir / "key_file.json").items()}

    def headers(self, api: str) -> dict[str, str]:
        """The Authorization header for `api`, with its key renewed first if it has expired."""
        return {"Authorization": f"Bearer {fresh_key(self.workdir / 'key_file.json', api, self.management_url)}"}

    def management(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(method, self.management_url + path,
                                headers=self.headers("management"), timeout=120, **kwargs)

    def wait_until_ready(self, models: list[str], timeout: float = 300) -> None:
        """Wait until every version of every model has all its workers READY."""
        deadline = time.time() + timeout
        waiting = list(models)
        while waiting:
            if not self.is_running():
                raise RuntimeError(f"TorchServe stopped while starting:\n{self.log_tail()}")
            if time.time() > deadline:
                raise TimeoutError(f"workers not READY after {timeout:.0f} s: {waiting}\n"
                                   f"{self.log_tail()}")
            try:
                waiting = [m for m in waiting if not self.ready(m)]
            except (requests.ConnectionError, FileNotFoundError, json.JSONDecodeError):
                pass  # the frontend or its key file is not up yet
            if waiting:
                time.sleep(0.5)

    def start_serving(self) -> None:
        """Start behind the door and wait until every version of every model is READY. Nothing is
        set after the start: the configuration alone decides what is served (default versions included)."""
        archives = self.checked_archives()
        self.start(behind_door=True)
        self.wait_until_ready(sorted({archive.model for archive in archives.values()}))

    def checked_archives(self) -> dict:
        """Every archive, once config.properties names them all and each matches its recorded sha256."""
        archives = find_archives()
        if read_properties(self.config).get("load_models") != load_models(archives):
            raise RuntimeError(f"{self.config}: load_models is not every archive, each model's default first "
                               f"({load_models(archives)}); run make archive")
        checksums.check(self.model_store, [f"{name}.mar" for name in archives])
        return archives

    def run_in_foreground(self) -> None:
        """Check the archives and become TorchServe, in the foreground (a container's main process:
        its logs on stdout). Readiness is then `ready`'s question, or the gateway's /ready."""
        self.checked_archives()
        env, config = self._environment(), self.started_config()
        (self.workdir / "key_file.json").unlink(missing_ok=True)
        os.chdir(self.workdir)
        os.execve(TORCHSERVE, [str(TORCHSERVE), "--start", "--foreground", *self.serving_arguments(config)], env)

    def archive_file(self, model: str, version: str | None) -> str:
        """The archive file of `model`'s `version` (its default if None) that make archive built."""
        for name, entry in find_archives().items():
            if entry.model == model and (version is None and entry.default or entry.version == version):
                return f"{name}.mar"
        raise ValueError(f"no archive of {model} {version or '(default)'}: see archive/*/model-config.yaml")

    def register(self, model: str, version: str | None) -> str:
        """Register `model`'s archive (checked as the gateway checks it) with one worker and wait for it."""
        archive = registrable_archive(self.archive_file(model, version), self.model_store)
        answer = self.management("POST", "/models", params={"url": archive, "model_name": model,
                                                           "initial_workers": 1, "synchronous": "true"})
        if not answer.ok:
            raise RuntimeError(f"TorchServe refused {archive}: {answer.status_code} {answer.text.strip()}")
        return archive

    def unregister(self, model: str, version: str | None) -> None:
        path = f"/models/{model}" + (f"/{version}" if version else "")
        answer = self.management("DELETE", path)
        if not answer.ok:
            raise RuntimeError(f"DELETE {path}: {answer.status_code} {answer.text.strip()}")

    def all_ready(self) -> bool:
        """Every version of every model registered has all its workers READY."""
        try:
            models = self.management("GET", "/models").json()["models"]
            return bool(models) and all(self.ready(model["modelName"]) for model in models)
        except (requests.RequestException, OSError, ValueError, KeyError):
            return False

    def ready(self, model: str) -> bool:
        response = self.management("GET", f"/models/{model}/all")
        if response.status_code != 200:
            return False
        versions = response.json()
        return all(v["workers"] and all(w["status"] == "READY" for w in v["workers"])
                   for v in versions)

    def log_tail(self, lines: int = 40) -> str:
        tail = []
        for name in ("ts_log.log", "model_log.log"):
            path = self.workdir / "logs" / name
            if path.exists():
                tail.append(f"--- {path}\n" + "\n".join(path.read_text().splitlines()[-lines:]))
        return "\n".join(tail)


def serve_forever_message(server: Server) -> str:
    key_file = server.workdir / "key_file.json"
    return f"""TorchServe is up; every model's workers are READY.
  inference   {server.door_address("inference")}/predictions/<model>
  management  {server.door_address("management")}/models
  metrics     {server.door_address("metrics")}/metrics
  gRPC        {server.door_grpc_address("inference")} (inference), {server.door_grpc_address("management")} (management)
Every request needs a token from {key_file} ("inference" for predictions, "management" for
the management API), sent as a bearer token:
  TOKEN=$(python3 -c 'import json; print(json.load(open("{key_file}"))["inference"]["key"])')
  curl -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\
       -d '{{"start_word": "the", "length": 20}}' {server.door_address("inference")}/predictions/bigram
Stop it with: make stop"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["start", "stop", "run", "ready", "register", "unregister"])
    parser.add_argument("--model", help="register, unregister: the model")
    parser.add_argument("--version", help="register, unregister: its version (default: the default version)")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--config", type=Path, default=ROOT / "config.properties")
    parser.add_argument("--model-store", type=Path, default=ROOT / "archive" / "model-store")
    args = parser.parse_args(argv)
    server = Server(args.workdir, args.config, args.model_store)
    try:
        run(server, args)
    except (RuntimeError, ValueError, TimeoutError, RegistrationRefused) as error:
        sys.exit(f"{args.command}: {error}")


def run(server: Server, args: argparse.Namespace) -> None:
    if args.command == "start":
        server.start_serving()
        print(serve_forever_message(server))
    elif args.command == "stop":
        server.stop()
        print("TorchServe stopped")
    elif args.command == "run":
        server.run_in_foreground()
    elif args.command in ("register", "unregister"):
        if not args.model:
            raise ValueError("name the model: make register MODEL=<model> [VERSION=<version>]")
        if args.command == "register":
            print(f"registered {server.register(args.model, args.version)}")
        else:
            server.unregister(args.model, args.version)
            print(f"unregistered {args.model} {args.version or '(every version)'}")
    elif not server.all_ready():
        sys.exit("not every model is READY")


if __name__ == "__main__":
    main()
