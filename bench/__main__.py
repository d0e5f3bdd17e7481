"""`make bench`: how fast every model is served here, measured side by side in one run.

    python -m bench [--weights weights] [--model-store archive/model-store] [--no-serving]

Prints the tables, writes them to bench/results/<cpu>-<cores>-cores-<capability>.json and puts
them in the README between its bench markers, with the machine they came from. Needs the
archives (make archive) and the committed weights; no data sets.
"""

from __future__ import annotations

import argparse
import datetime
from pathlib import Path
from typing import Any

from bench.backends import backend_rows
from bench.limits import limit_rows
from bench.machine import describe, slug
from bench.report import SECTION, markdown, publish
from bench.samplers import compile_rows, contention_rows, network_rows, request_rows
from bench.serving import serving_results
from models.catalog import ROOT


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=ROOT / "weights")
    parser.add_argument("--model-store", type=Path, default=ROOT / "archive" / "model-store")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    parser.add_argument("--no-serving", action="store_true", help="leave out the TorchServe part")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = arguments().parse_args(argv)
    machine = describe()
    print(f"bench on {machine['cpu']}, {machine['cores']} cores, {machine['capability']}", flush=True)
    results: dict[str, Any] = {"machine": machine, "date": datetime.date.today().isoformat()}
    results["networks"], results["matmul_peak_gflops"] = network_rows(args.weights)
    results["backends"] = backend_rows(args.weights, results["matmul_peak_gflops"])
    results["contention"] = contention_rows(args.weights)
    results["compile"] = compile_rows(args.weights)
    results["requests"] = request_rows(args.weights)
    results["limits"] = limit_rows(args.weights)
    if not args.no_serving:
        results.update(serving_results(args.weights, args.model_store))
    publish(results, args.results / f"{slug(machine)}.json", markdown(results), args.readme, SECTION)


if __name__ == "__main__":
    main()
