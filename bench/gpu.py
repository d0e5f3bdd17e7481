"""The GPU check (make gpu-check), for a machine with CUDA: every model served with GPU workers
answers its example request; each sampler gives the same bytes for the same seed twice on the GPU;
16 samples and a batch of 64 of each sampler (its served defaults otherwise), timed on GPU workers and
on CPU workers of the same machine, side by side. Writes bench/results/gpu-<machine>.json.

    python -m bench.gpu [--model-store archive/model-store] [--rounds 3]

Each side is a TorchServe of its own on free ports (scripts/server.py, as make serve starts it), with
`number_of_gpu` 1 or 0: TorchServe gives each worker a `gpu_id`, and the handlers put their network
on that GPU (handlers/request_handler.py).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
import torch

from bench.machine import describe, slug
from models.catalog import ROOT, ModelVersion, catalog
from scripts.server import Server, on_free_ports

SAMPLES = (16, 64)


def samplers(weights: Path) -> list[ModelVersion]:
    """Every version of the models whose example request asks for samples."""
    return [entry for entry in catalog(weights) if "num_samples" in (entry.example_request or {}).get("json", {})]


def post(server: Server, entry: ModelVersion, body: dict[str, Any]) -> requests.Response:
    return requests.post(f"{server.inference_url}/predictions/{entry.model}/{entry.version}", json=body,
                         headers=server.headers("inference"), timeout=600)


def started(workdir: Path, model_store: Path, gpus: int) -> Server:
    config = on_free_ports(Path(shutil.copy(ROOT / "config.properties", workdir)), model_store=str(model_store),
                           number_of_gpu=str(gpus))
    server = Server(workdir / "work", config, model_store)
    server.start_serving()
    return server


def checks(server: Server, weights: Path) -> dict[str, Any]:
    """Every example request answered; every sampler's bytes the same for the same seed twice."""
    answered, repeatable = {}, {}
    for entry in catalog(weights):
        if entry.example_request is None or "json" not in entry.example_request:
            continue
        answer = post(server, entry, entry.example_request["json"])
        answered[f"{entry.model}/{entry.version}"] = answer.status_code
    for entry in samplers(weights):
        body = {**entry.example_request["json"], "seed": 7}
        repeatable[f"{entry.model}/{entry.version}"] = post(server, entry, body).content == post(server, entry,
                                                                                                   body).content
    return {"answered": answered, "same_bytes_for_the_same_seed": repeatable}


def timings(server: Server, weights: Path, rounds: int) -> dict[str, dict[str, float]]:
    """Median seconds of a request for 16 and for 64 samples of each sampler, after one untimed."""
    table = {}
    for entry in samplers(weights):
        row = {}
        for count in SAMPLES:
            body = {"num_samples": count, "seed": 1}
            post(server, entry, body).raise_for_status()
            seconds = []
            for _ in range(rounds):
                start = time.perf_counter()
                post(server, entry, body).raise_for_status()
                seconds.append(time.perf_counter() - start)
            row[f"{count}_samples_s"] = round(statistics.median(seconds), 3)
        table[f"{entry.model}/{entry.version}"] = row
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-store", type=Path, default=ROOT / "archive" / "model-store")
    parser.add_argument("--weights", type=Path, default=ROOT / "weights")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        sys.exit("no CUDA device here: make gpu-check needs a GPU machine")
    machine = {**describe(), "gpu": torch.cuda.get_device_name(0)}
    results: dict[str, Any] = {"machine": machine}
    for side, gpus in (("gpu", 1), ("cpu", 0)):
        workdir = Path(tempfile.mkdtemp(prefix=f"gpu-check-{side}-"))
        server = started(workdir, args.model_store, gpus)
        try:
            results[side] = {**(checks(server, args.weights) if side == "gpu" else {}),
                             "timings": timings(server, args.weights, args.rounds)}
        finally:
            server.stop()
            shutil.rmtree(workdir, ignore_errors=True)
    results["gpu_speedup"] = {name: {count: round(results["cpu"]["timings"][name][count] / seconds, 1)
                                     for count, seconds in row.items()}
                              for name, row in results["gpu"]["timings"].items()}
    out = ROOT / "bench" / "results" / f"gpu-{slug(machine)}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    failed = [name for name, status in results["gpu"]["answered"].items() if status != 200]
    failed += [name for name, same in results["gpu"]["same_bytes_for_the_same_seed"].items() if not same]
    print(f"wrote {out}")
    if failed:
        sys.exit(f"failed on the GPU: {failed}")


if __name__ == "__main__":
    main()
