"""`make loadtest`: a bounded load test. Mixed valid traffic over every version of all seven models
(each model-config's `example_request`), from `concurrency` clients for `seconds`, on loopback, against
a TorchServe of its own started from this checkout's config.properties; it stops by itself.

    python -m bench.loadtest [--seconds 120] [--concurrency 16]

Per model: requests, errors (any answer but 200, or none), p50/p99 latency, and its workers'
resident memory and open file descriptors before and after (read from /proc, after a warm-up
round); the same for TorchServe's frontend. Written to bench/results/loadtest-<machine>.json and
into the README between its loadtest markers.
"""

from __future__ import annotations

import argparse
import datetime
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

from bench.machine import describe, slug
from bench.report import publish
from bench.serving import Example
from models.catalog import ROOT, catalog
from scripts.readme_sections import table
from scripts.server import Server, on_free_ports

SECTION = "loadtest"


def targets() -> list[tuple[str, Example]]:
    """(path, example) for every version of every model that has an example request."""
    found = []
    for entry in catalog():
        example = entry.example_request
        if example is not None:
            found.append((f"{entry.model}/{entry.version}", Example(example)))
    return sorted(found, key=lambda target: target[0])


def process_usage(pid: int) -> dict[str, float]:
    """Resident memory (MB) and open file descriptors of a process."""
    rss_kb = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                  if line.startswith("VmRSS:"))
    return {"rss_mb": round(rss_kb / 1024, 1), "fds": len(list(Path(f"/proc/{pid}/fd").iterdir()))}


def usage(server: Server) -> dict[str, dict[str, float]]:
    """Per model version (its workers together) and for the frontend: memory and descriptors."""
    found = {"frontend": process_usage(int(server.pid_file.read_text()))}
    for model in server.management("GET", "/models").json()["models"]:
        for version in server.management("GET", f"/models/{model['modelName']}/all").json():
            workers = [process_usage(worker["pid"]) for worker in version["workers"]]
            found[f"{model['modelName']}/{version['modelVersion']}"] = {
                "rss_mb": round(sum(w["rss_mb"] for w in workers), 1), "fds": sum(w["fds"] for w in workers)}
    return found


# Several of the slowest requests (ebm 2.0's, about 5 s under this load) at full concurrency: a
# shorter warm-up leaves their merged batches' first allocations to count as growth.
WARM_UP_SECONDS = 10.0


def load(server: Server, seconds: float, concurrency: int) -> list[dict[str, Any]]:
    """Run the mixed traffic and return a row per model version (and one for the frontend). The
    "before" is taken after a warm-up of the same traffic (WARM_UP_SECONDS, however short the run),
    so that first-use allocations, such as a merged batch's, do not count as growth."""
    traffic(server, WARM_UP_SECONDS, concurrency)
    before = usage(server)
    latencies, errors = traffic(server, seconds, concurrency)
    after = usage(server)
    rows = []
    for path, _ in targets():
        times = sorted(latencies[path])
        rows.append({"model": path, "requests": len(times), "errors": errors[path],
                     "p50_ms": round(1000 * statistics.median(times), 1) if times else None,
                     "p99_ms": round(1000 * times[min(len(times) - 1, int(0.99 * len(times)))], 1) if times else None,
                     **row_usage(before[path], after[path])})
    rows.append({"model": "frontend", **row_usage(before["frontend"], after["frontend"])})
    return rows


def traffic(server: Server, seconds: float, concurrency: int) -> tuple[dict[str, list[float]], dict[str, int]]:
    """`concurrency` clients, each sending every model version's example request in turn (starting
    at different ones) for `seconds`: (latencies, errors) per model version."""
    work = targets()
    headers = server.headers("inference")
    latencies: dict[str, list[float]] = {path: [] for path, _ in work}
    errors = {path: 0 for path, _ in work}
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client(offset: int) -> None:
        with requests.Session() as session:
            session.headers.update(headers)
            turn = offset
            while time.perf_counter() < deadline:
                path, example = work[turn % len(work)]
                turn += 1
                start = time.perf_counter()
                try:
                    ok = session.post(f"{server.inference_url}/predictions/{path}", data=example.body,
                                      headers=example.headers, timeout=120).status_code == 200
                except requests.RequestException:
                    ok = False
                with lock:
                    latencies[path].append(time.perf_counter() - start)
                    errors[path] += not ok

    threads = [threading.Thread(target=client, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors


def row_usage(before: dict[str, float], after: dict[str, float]) -> dict[str, Any]:
    return {"rss_mb_before": before["rss_mb"], "rss_mb_after": after["rss_mb"],
            "rss_growth": round(after["rss_mb"] / before["rss_mb"] - 1, 3),
            "fds_before": before["fds"], "fds_after": after["fds"]}


def markdown(results: dict[str, Any]) -> str:
    machine = results["machine"]
    intro = (f"Measured {results['date']} on {machine['cpu']}, {machine['cores']} cores, {machine['capability']}, "
             f"by `make loadtest`: {results['concurrency']} clients for {results['seconds']} s, mixed valid "
             "requests over every model version (each model-config's example request) in turn.")
    return intro + "\n\n" + table(
        ["model", "requests", "errors", "p50 (ms)", "p99 (ms)", "RSS before (MB)", "after", "growth",
         "open fds before", "after"],
        [[r["model"], r.get("requests", ""), r.get("errors", ""), r.get("p50_ms", ""), r.get("p99_ms", ""),
          r["rss_mb_before"], r["rss_mb_after"], f"{100 * r['rss_growth']:+.1f}%", r["fds_before"], r["fds_after"]]
         for r in results["rows"]])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--model-store", type=Path, default=ROOT / "archive" / "model-store")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="loadtest-torchserve-"))
    server = Server(workdir, on_free_ports(Path(shutil.copy(ROOT / "config.properties", workdir))), args.model_store)
    try:
        server.start_serving()
        rows = load(server, args.seconds, args.concurrency)
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    machine = describe()
    results = {"machine": machine, "date": datetime.date.today().isoformat(), "seconds": args.seconds,
               "concurrency": args.concurrency, "rows": rows}
    publish(results, args.results / f"loadtest-{slug(machine)}.json", markdown(results), args.readme, SECTION)


if __name__ == "__main__":
    main()
