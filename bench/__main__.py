"""`make bench`: how fast every model is served here, measured side by side in one run.

    python -m bench [--weights weights] [--model-store archive/model-store] [--no-serving] [--only PART ...]

Prints the tables, writes them to bench/results/<cpu>-<cores>-cores-<capability>.json and puts
them in the README between its bench markers, with the machine they came from. Needs the
archives (make archive) and the committed weights; no data sets.
"""

from __future__ import annotations

import argparse
import datetime
import json
from pathlib import Path
from typing import Any

from bench.backends import backend_rows
from bench.floor import floor_rows
from bench.limits import limit_rows
from bench.machine import PEAK, TARGET_MACHINE, describe, slug
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
    parser.add_argument("--only", nargs="+", choices=PARTS, metavar="PART",
                        help=f"measure only these tables ({', '.join(PARTS)}) and keep the others from this "
                             "machine's results file, if it has one; the report says which were measured when")
    return parser


PARTS = ("networks", "backends", "contention", "compile", "requests", "limits", "serving")


def main(argv: list[str] | None = None) -> None:
    args = arguments().parse_args(argv)
    machine = describe()
    print(f"bench on {machine['cpu']}, {machine['cores']} cores, {machine['capability']}", flush=True)
    today = datetime.date.today().isoformat()
    path = args.results / f"{slug(machine)}.json"
    results: dict[str, Any] = {"machine": machine, "date": today}
    parts = PARTS[:-1] if args.no_serving else PARTS
    if args.only:
        if path.exists():
            results = {**json.loads(path.read_text()), "machine": machine}
            results["remeasured"] = {**results.get("remeasured", {}), **{part: today for part in args.only}}
        parts = args.only
    if "backends" in parts and "matmul_peak_gflops" not in results:  # its rows are against the peak
        parts = ["networks", *parts]
    if "networks" in parts:
        results["networks"], results["matmul_peak_gflops"] = network_rows(args.weights)
    if "backends" in parts:
        results["backends"] = backend_rows(args.weights, results["matmul_peak_gflops"])
    if "contention" in parts:
        results["contention"] = contention_rows(args.weights)
    if "compile" in parts:
        results["compile"] = compile_rows(args.weights)
    if "requests" in parts:
        results["requests"] = request_rows(args.weights)
    if "limits" in parts:
        results["limits"] = limit_rows(args.weights)
    if "serving" in parts:
        results.update(serving_results(args.weights, args.model_store))
        results["floor"] = floor_rows()
    target = args.results / f"{TARGET_MACHINE}.json"
    if target.exists():  # its peak, to scale this machine's figures to it
        target_results = json.loads(target.read_text())
        results["target_machine"] = {**target_results["machine"],
                                     "peak_gflops": target_results["matmul_peak_gflops"][PEAK]}
    publish(results, path, markdown(results), args.readme, SECTION)


if __name__ == "__main__":
    main()
