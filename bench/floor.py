"""TorchServe's floor: a request served by a handler that does nothing (bench/floor_handler.py),
batched with the light models' batch delay and one at a time, in a TorchServe of its own. What a light
model's served request costs beyond its in-process time can be read against it: the part that is
TorchServe's, which no handler can remove, and the batch delay, which a lone request waits for
company."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from bench.serving import Connection, Example, served_ms, throughput
from models.catalog import ROOT
from scripts.server import Server, on_free_ports

HANDLER = Path(__file__).with_name("floor_handler.py")
# Batched with the light models' batch delay (their model-config.yaml; a test checks it), and one at a time.
BATCHING = {"floor_batched": {"batchSize": 8, "maxBatchDelay": 1},
            "floor_one_at_a_time": {"batchSize": 1}}
EXAMPLE = Example({"json": {"word": "king"}})


def build(name: str, settings: dict[str, int], model_store: Path) -> None:
    config = model_store / f"{name}.yaml"
    config.write_text(yaml.safe_dump({"minWorkers": 1, "maxWorkers": 1, "responseTimeout": 30, **settings}))
    subprocess.run([str(Path(sys.executable).parent / "torch-model-archiver"), "--model-name", name,
                    "--version", "1.0", "--handler", str(HANDLER), "--config-file", str(config),
                    "--export-path", str(model_store), "--force"], check=True)
    config.unlink()


def floor_rows(count: int = 30, seconds: float = 3.0) -> list[dict[str, Any]]:
    """Served p50 and requests per second at 16 clients, for each of BATCHING."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-floor-"))
    model_store = workdir / "model-store"
    model_store.mkdir()
    for name, settings in BATCHING.items():
        build(name, settings, model_store)
    config = on_free_ports(Path(shutil.copy(ROOT / "config.properties", workdir)), model_store=str(model_store),
                           load_models=",".join(f"{name}.mar" for name in BATCHING))
    server = Server(workdir, config, model_store)
    try:
        server.start()
        server.wait_until_ready(list(BATCHING))
        headers = server.headers("inference")
        rows = []
        for name, settings in BATCHING.items():
            url = f"{server.inference_url}/predictions/{name}"
            with Connection(url, headers) as connection:
                served = served_ms(connection, EXAMPLE, count)
            rows.append({"batching": settings, "served_p50_ms": round(served, 2),
                         "requests_per_s_16": round(throughput(url, headers, EXAMPLE, 16, seconds), 1)})
        return rows
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
