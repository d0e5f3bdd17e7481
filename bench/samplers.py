"""The iterative samplers' cost: seconds per sample-step of their networks, the GFLOP/s that is,
against the matrix-multiply peak at the same threads and precision (bench/machine.py), over
threads (1 or every core), memory layout (channels-last or not) and precision (fp32, and bf16 where
the CPU has it natively); then whole requests of 16 samples at the served threads: DDIM against
DPM-Solver++(2M) at equal quality, and the ebm samplers against the course recipe's loop
(bench/reference_ebm.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from bench.machine import matmul_peak
from bench.reference_ebm import CourseEnergy, course_langevin
from bench.timing import median_seconds
from models.catalog import ModelVersion, model_version, model_versions, version_key
from models.loader import load_network
from models.noise_conditional_energy import predicted_noise
from models.precision import autocast, native_bf16
from models.seeds import Seeds

BATCH = 16
CPU = torch.device("cpu")
NOISE_VARIANCE = 0.5  # any level: the cost of a step does not depend on it


@dataclass
class NetworkStep:
    """What one sampler step asks of a network, for a batch of images. `same_work` does the same
    arithmetic in a form that FlopCounterMode can follow: its module tracker fails inside
    torch.autograd.grad, and `.backward()` of the energy takes the same gradient (the weights
    ask for none)."""
    name: str
    network: torch.nn.Module
    call: Callable[[torch.nn.Module, torch.Tensor], torch.Tensor]
    same_work: Callable[[torch.nn.Module, torch.Tensor], object]

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        return self.call(self.network, images)


def network_steps(weights: Path) -> list[NetworkStep]:
    """A forward pass of the diffusion UNet; a forward and a backward pass (the gradient with
    respect to the images) of the ebm 2.0 energy."""
    variance = torch.full((BATCH,), NOISE_VARIANCE)
    unet, _ = load_network(model_version("diffusion", "1.0", weights).manifest_path, "cpu")
    energy, _ = load_network(model_version("ebm", "2.0", weights).manifest_path, "cpu")
    return [NetworkStep("diffusion 1.0 (UNet forward)", unet, lambda net, x: net(x, variance),
                        lambda net, x: net(x, variance)),
            NetworkStep("ebm 2.0 (energy forward + backward)", energy,
                        lambda net, x: predicted_noise(net, x, variance),
                        lambda net, x: net(x.detach().requires_grad_(True), variance).sum().backward())]


def flops_of(step: NetworkStep, images: torch.Tensor) -> int:
    counter = FlopCounterMode(display=False)
    with counter, torch.enable_grad():
        step.same_work(step.network, images)
    return counter.get_total_flops()


def precisions() -> list[str]:
    return ["fp32", "bf16"] if native_bf16(CPU) else ["fp32"]


def network_rows(weights: Path, repeats: int = 3) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """(a row per network and setting, the matmul peaks in GFLOP/s by "<precision>, <threads> threads")."""
    rows, peaks = [], {}
    steps = network_steps(weights)
    images = torch.randn(BATCH, 3, 32, 32)
    flops = {step.name: flops_of(step, images) for step in steps}
    for threads in sorted({1, os.cpu_count() or 1}):
        torch.set_num_threads(threads)
        for dtype in precisions():
            peak_name = f"{dtype}, {threads} threads"
            peaks[peak_name] = matmul_peak(torch.float32 if dtype == "fp32" else torch.bfloat16)
            for channels_last in (False, True):
                layout = torch.channels_last if channels_last else torch.contiguous_format
                batch = images.contiguous(memory_format=layout)
                for step in steps:
                    step.network.to(memory_format=layout)

                    def call(step=step, batch=batch, dtype=dtype):
                        with torch.no_grad(), autocast(dtype, CPU):
                            step(batch)

                    seconds = median_seconds(call, repeats)
                    gflops = flops[step.name] / seconds / 1e9
                    rows.append({"network": step.name, "threads": threads, "channels_last": channels_last,
                                 "precision": dtype, "ms_per_sample_step": round(1000 * seconds / BATCH, 3),
                                 "gflop_per_sample_step": round(flops[step.name] / BATCH / 1e9, 3),
                                 "gflops": round(gflops, 1), "of_peak": round(gflops / peaks[peak_name], 3)})
    return rows, {name: round(value, 1) for name, value in peaks.items()}


BUSY_LOOP = "import torch\ntorch.set_num_threads(1)\na = torch.randn(512, 512)\nwhile True:\n    a @ a\n"


def contention_rows(weights: Path, repeats: int = 3) -> list[dict[str, Any]]:
    """The UNet's step at 1 thread and at every core while another process keeps one core busy, as
    another model's worker does when it serves: what a sampler's thread count costs then."""
    [unet_step, _] = network_steps(weights)
    images = torch.randn(BATCH, 3, 32, 32)
    busy = subprocess.Popen([sys.executable, "-c", BUSY_LOOP])
    rows = []
    try:
        time.sleep(1.0)  # let it start
        for threads in sorted({1, os.cpu_count() or 1}):
            torch.set_num_threads(threads)
            with torch.no_grad():
                seconds = median_seconds(lambda: unet_step(images), repeats)
            rows.append({"network": unet_step.name, "threads": threads, "other_busy_cores": 1,
                         "ms_per_sample_step": round(1000 * seconds / BATCH, 3)})
    finally:
        busy.kill()
        busy.wait()
    return rows


def compile_rows(weights: Path, repeats: int = 3) -> list[dict[str, Any]]:
    """torch.compile of the UNet at the served threads: what the first call costs (the compile, paid
    at worker start if it warms up), what a step saves, and after how many sample-steps it pays off."""
    threads = model_version("diffusion", "1.0", weights).threads
    torch.set_num_threads(threads)
    [unet_step, _] = network_steps(weights)
    images = torch.randn(BATCH, 3, 32, 32)
    variance = torch.full((BATCH,), NOISE_VARIANCE)
    compiled = torch.compile(unet_step.network)
    rows = []
    with torch.no_grad():
        eager = median_seconds(lambda: unet_step(images), repeats)
        start = time.perf_counter()
        compiled(images, variance)
        compile_seconds = time.perf_counter() - start
        fast = median_seconds(lambda: compiled(images, variance), repeats)
    saved = (eager - fast) / BATCH
    rows.append({"network": unet_step.name, "threads": threads,
                 "eager_ms_per_sample_step": round(1000 * eager / BATCH, 3),
                 "compiled_ms_per_sample_step": round(1000 * fast / BATCH, 3),
                 "compile_seconds": round(compile_seconds, 1),
                 "pays_off_after_sample_steps": round(compile_seconds / saved) if saved > 0 else None})
    return rows


def equal_quality_steps(manifest: dict[str, Any], reference_steps: int = 50) -> tuple[int | None, str]:
    """The fewest DPM-Solver++(2M) steps whose KID on the steps table is within one standard error
    of DDIM's at `reference_steps` (the evaluation's tables), and how that was decided."""
    metrics = manifest.get("metrics", {})
    ddim, dpm = metrics.get("steps_table", {}), metrics.get("steps_table_dpmpp_2m", {})
    if str(reference_steps) not in ddim or not dpm:
        return None, "no DPM-Solver++ quality table in the diffusion manifest yet"
    bar = ddim[str(reference_steps)]["kid"] + ddim[str(reference_steps)]["kid_std"]
    matching = sorted(int(steps) for steps, row in dpm.items() if steps.isdigit() and row["kid"] <= bar)
    if not matching:
        return None, f"no DPM-Solver++ row reaches DDIM-{reference_steps}'s KID"
    return matching[0], f"KID within one standard error of DDIM-{reference_steps}'s ({bar:.5f})"


def seconds_for_16(entry: ModelVersion, network: torch.nn.Module, steps: int, repeats: int,
                   **settings: Any) -> float:
    """16 samples of the version's sampler at its served threads, after one call that warms up (a
    worker's calibration has warmed it before it serves: handlers/sampler_clock.py)."""
    torch.set_num_threads(entry.threads)
    draw = entry.sampling_function()
    return round(median_seconds(lambda: draw(network, Seeds.one(BATCH, 0), steps, **settings), repeats), 3)


def request_rows(weights: Path, repeats: int = 1) -> list[dict[str, Any]]:
    """Seconds for 16 samples at the served threads and layout, fp32, as a request asks for them."""
    rows = []
    diffusion = model_version("diffusion", "1.0", weights)
    unet = diffusion.network()
    rows.append({"request": "diffusion, DDIM 50 steps",
                 "seconds": seconds_for_16(diffusion, unet, 50, repeats, sampler="ddim", eta=0.0)})
    dpm_steps, why = equal_quality_steps(diffusion.manifest, 50)
    if dpm_steps is None:
        dpm_steps, why = 20, why + "; timed at 20 steps"
    rows.append({"request": f"diffusion, DPM-Solver++(2M) {dpm_steps} steps", "note": why,
                 "seconds": seconds_for_16(diffusion, unet, dpm_steps, repeats, sampler="dpmpp_2m", eta=0.0)})

    # Every diffusion version at its served defaults, and a class-conditional one also asked for classes
    # at its served guidance (two predictions a step, in one network call on twice the batch), next to 1.0.
    # A version served through another backend on CPUs is timed through PyTorch too.
    served_1 = None
    for entry in sorted(model_versions("diffusion", weights), key=lambda e: version_key(e.version)):  # 1.0 first
        torch.set_num_threads(entry.threads)  # before the network: ONNX Runtime takes its threads then
        network = entry.network()
        steps, settings = entry.served_sampling()
        seconds = seconds_for_16(entry, network, steps, repeats, **settings)
        served_1 = served_1 or seconds
        backend = entry.backend("cpu")
        rows.append({"request": f"diffusion {entry.version}, {steps} steps (served defaults, {backend})",
                     "seconds": seconds, "note": f"{seconds / served_1:.2f}x diffusion 1.0's served defaults"})
        if backend != "pytorch":
            eager = seconds_for_16(entry, entry.network(backend="pytorch"), steps, repeats, **settings)
            rows.append({"request": f"diffusion {entry.version}, {steps} steps (served defaults, eager PyTorch "
                                    "channels-last)", "seconds": eager,
                         "note": f"{eager / seconds:.2f}x {backend}'s time"})
        if network.num_classes and "guidance" in entry.defaults:  # a distilled version's guidance was taught
            guidance = entry.defaults["guidance"]
            labels = torch.arange(BATCH) % network.num_classes
            seconds = seconds_for_16(entry, network, steps, repeats, labels=labels, guidance=guidance, **settings)
            rows.append({"request": f"diffusion {entry.version}, {steps} steps, a label each, guidance {guidance:g}",
                         "seconds": seconds, "note": f"{seconds / served_1:.2f}x diffusion 1.0's served defaults"})

    for ebm in model_versions("ebm", weights):
        steps, settings = ebm.served_sampling()
        rows.append({"request": f"ebm {ebm.version}, {steps} steps (served defaults)",
                     "seconds": seconds_for_16(ebm, ebm.network(), steps, repeats, **settings)})
    torch.manual_seed(0)
    course = CourseEnergy()
    rows.append({"request": "ebm, the course recipe's loop (256 steps, written plainly)",
                 "seconds": round(median_seconds(lambda: course_langevin(course, BATCH), repeats, warmup=0), 3)})
    return rows
