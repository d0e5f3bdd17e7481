"""The bench's results as Markdown tables, for the README's section `bench` (scripts/readme_sections.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.machine import PEAK
from scripts.readme_sections import replace_section, table

SECTION = "bench"
TIME_SPLIT = ("client_and_http_ms", "queue_ms", "worker_round_trip_ms", "handler_parse_ms", "handler_model_ms",
              "handler_encode_ms")  # bench/serving.py, time_split

def publish(results: dict[str, Any], path: Path, text: str, readme: Path, section: str) -> None:
    """Keep the results as JSON in `path`, print their tables (`text`) and put them in the README's `section`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1) + "\n")
    print(text)
    replace_section(readme, section, text)
    print(f"written to {path} and {readme}")


def markdown(results: dict[str, Any]) -> str:
    """The tables of `results`, each one it has (a run with --only on a new machine has only some)."""
    machine = results["machine"]
    parts = [f"Measured {results['date']} on {machine['cpu']}, {machine['cores']} cores, "
             f"{machine['capability']}, native bf16: {'yes' if machine['native_bf16'] else 'no'} "
             f"(torch {machine['torch']}), by `make bench`" + "".join(
                 f"; {part} re-measured {date}" for part, date in results.get("remeasured", {}).items()) + "."]
    if "matmul_peak_gflops" in results:
        parts.append("Matrix-multiply peak (GFLOP/s, the physical limit): " + ", ".join(
            f"{name} {value}" for name, value in results["matmul_peak_gflops"].items()) + ".")
    if "networks" in results:
        parts.append(table(
            ["network step", "threads", "channels-last", "precision", "ms per sample-step", "GFLOP per sample-step",
             "GFLOP/s", "of peak"],
            [[r["network"], r["threads"], "on" if r["channels_last"] else "off", r["precision"],
              r["ms_per_sample_step"], r["gflop_per_sample_step"], r["gflops"], f"{100 * r['of_peak']:.0f}%"]
             for r in results["networks"]]))
    if "backends" in results:
        parts.append(table(
            ["network step by backend", "backend", "threads", "ms per sample-step", "of peak", "largest difference"],
            [[r["network"], r["backend"], r["threads"], r["ms_per_sample_step"], f"{100 * r['of_peak']:.0f}%",
              f"{r['max_abs_difference']:.1e}"] for r in results["backends"]]))
    if "contention" in results:
        parts.append(table(
            ["network step while another process keeps a core busy", "threads", "ms per sample-step"],
            [[r["network"], r["threads"], r["ms_per_sample_step"]] for r in results["contention"]]))
    if "compile" in results:
        parts.append(table(
            ["torch.compile", "threads", "eager ms per sample-step", "compiled", "compile seconds",
             "pays off after (sample-steps)"],
            [[r["network"], r["threads"], r["eager_ms_per_sample_step"], r["compiled_ms_per_sample_step"],
              r["compile_seconds"], r["pays_off_after_sample_steps"] or "never"] for r in results["compile"]]))
    if "requests" in results:
        parts.append(table(["16 samples in-process (served threads and layout, fp32)", "seconds", "note"],
                           [[r["request"], r["seconds"], r.get("note", "")] for r in results["requests"]]))
    if "limits" in results:
        parts.append(table(
            ["costliest request the limits allow here", "cap in force", "seconds", "the worker's clock expected (s)",
             "worst batch (s)", "responseTimeout (s)", "margin"],
            [[f"{r['model']} {r['version']}: {r['request']}", r["cap_in_force"], r["seconds"],
              r["expected_seconds"], r["worst_batch_seconds"], r["response_timeout"], f"{r['margin']}x"]
             for r in results["limits"]]))
    if "serving" in results:
        parts.append(serving_table(results["serving"]))
    if "floor" in results:
        parts.append(table(["TorchServe's floor: a handler that answers at once (bench/floor.py)", "served p50 (ms)",
                            "req/s at 16"],
                           [[", ".join(f"{key} {value}" for key, value in r["batching"].items()), r["served_p50_ms"],
                             r["requests_per_s_16"]] for r in results["floor"]]))
    if "default_requests" in results:
        parts.append(default_requests_table(results))
    if "image_latency" in results:
        parts.append(table(["image model, served", "one image p50 (ms)", "8 images sent together p50 (ms)"],
                           [[f"{r['model']} {r['version']}", r["one_p50_ms"], r["eight_p50_ms"]]
                            for r in results["image_latency"]]))
    return "\n\n".join(parts)


def serving_table(rows: list[dict[str, Any]]) -> str:
    """What serving adds to each model's own work, and where a served request's time goes."""
    return "\n\n".join([table(
        ["model", "in-process p50 (ms)", "served p50 (ms)", "overhead (ms)", "through the door p50 (ms)",
         "req/s at 1", "at 4", "at 16", "16 vs 1"],
        [[f"{r['model']} {r['version']}", r["in_process_p50_ms"], r["served_p50_ms"], r["overhead_ms"],
          r.get("door_p50_ms", "not measured"),
          r["requests_per_s_1"], r["requests_per_s_4"], r["requests_per_s_16"],
          f"{r['requests_per_s_16'] / r['requests_per_s_1']:.1f}x"] for r in rows]), table(
        ["where a served request's time goes (mean ms)", "client and HTTP", "frontend queue",
         "worker round trip outside the handler", "handler: parse", "model", "encode"],
        [[f"{r['model']} {r['version']}", *(r["time_split"][name] for name in TIME_SPLIT)] for r in rows
         if "time_split" in r])])


def default_requests_table(results: dict[str, Any]) -> str:
    """Every sampler version's request with every default, served, and scaled to the target machine
    (bench/machine.py) by the ratio of the one-thread fp32 peaks, where its results are at hand."""
    header, scale = ["a request with every default (16 samples), served", "seconds"], None
    target, peaks = results.get("target_machine"), results.get("matmul_peak_gflops", {})
    if target is not None and PEAK in peaks:
        scale = peaks[PEAK] / target["peak_gflops"]
        header.append(f"scaled to the {target['cpu']} ({target['capability']}, {PEAK.split(',')[0]} peak "
                      f"{target['peak_gflops']} GFLOP/s at one thread against {peaks[PEAK]} here)")
    return table(header, [[f"{r['model']} {r['version']}", r["seconds"],
                           *([round(r["seconds"] * scale, 2)] if scale is not None else [])]
                          for r in results["default_requests"]])
