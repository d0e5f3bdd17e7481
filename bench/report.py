"""The bench's results as Markdown tables, and their place in the README (between the markers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

START, END = "<!-- bench: start -->", "<!-- bench: end -->"


def table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def markdown(results: dict[str, Any]) -> str:
    machine = results["machine"]
    parts = [f"Measured {results['date']} on {machine['cpu']}, {machine['cores']} cores, "
             f"{machine['capability']}, native bf16: {'yes' if machine['native_bf16'] else 'no'} "
             f"(torch {machine['torch']}), by `make bench`.",
             "Matrix-multiply peak (GFLOP/s, the physical limit): " + ", ".join(
                 f"{name} {value}" for name, value in results["matmul_peak_gflops"].items()) + "."]
    parts.append(table(
        ["network step", "threads", "channels-last", "precision", "ms per sample-step", "GFLOP per sample-step",
         "GFLOP/s", "of peak"],
        [[r["network"], r["threads"], "on" if r["channels_last"] else "off", r["precision"], r["ms_per_sample_step"],
          r["gflop_per_sample_step"], r["gflops"], f"{100 * r['of_peak']:.0f}%"] for r in results["networks"]]))
    parts.append(table(
        ["network step while another process keeps a core busy", "threads", "ms per sample-step"],
        [[r["network"], r["threads"], r["ms_per_sample_step"]] for r in results["contention"]]))
    parts.append(table(
        ["torch.compile", "threads", "eager ms per sample-step", "compiled", "compile seconds",
         "pays off after (sample-steps)"],
        [[r["network"], r["threads"], r["eager_ms_per_sample_step"], r["compiled_ms_per_sample_step"],
          r["compile_seconds"], r["pays_off_after_sample_steps"] or "never"] for r in results["compile"]]))
    parts.append(table(["16 samples in-process (served threads and layout, fp32)", "seconds", "note"],
                       [[r["request"], r["seconds"], r.get("note", "")] for r in results["requests"]]))
    parts.append(table(
        ["costliest request the limits allow", "seconds", "batchSize", "a batch of them, one after another (s)",
         "responseTimeout (s)", "margin"],
        [[f"{r['model']} {r['version']}: {r['request']}", r["seconds"], r["batch_size"], r["worst_batch_seconds"],
          r["response_timeout"], f"{r['margin']}x"] for r in results["limits"]]))
    if "serving" in results:
        parts.append(table(
            ["model", "in-process p50 (ms)", "served p50 (ms)", "overhead (ms)", "req/s at 1", "at 4", "at 16",
             "16 vs 1"],
            [[f"{r['model']} {r['version']}", r["in_process_p50_ms"], r["served_p50_ms"], r["overhead_ms"],
              r["requests_per_s_1"], r["requests_per_s_4"], r["requests_per_s_16"],
              f"{r['requests_per_s_16'] / r['requests_per_s_1']:.1f}x"] for r in results["serving"]]))
        parts.append(table(
            ["a request with every default (16 samples), served", "seconds"],
            [[f"{r['model']} {r['version']}", r["default_request_served_s"]] for r in results["serving"]
             if "default_request_served_s" in r]))
    return "\n\n".join(parts)


def update_readme(readme: Path, text: str, start: str = START, end: str = END) -> None:
    """Replace what stands between the README's markers (the bench's unless given; they must be there)."""
    content = readme.read_text()
    if start not in content or end not in content:
        raise ValueError(f"{readme} has no {start} ... {end} section")
    before, rest = content.split(start, 1)
    _, after = rest.split(end, 1)
    readme.write_text(f"{before}{start}\n{text}\n{end}{after}")
