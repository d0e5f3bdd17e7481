"""The default diffusion version's UNet step on each inference backend: eager PyTorch (contiguous,
and channels-last as 1.0 is served), ONNX Runtime (as 2.0 is served on CPUs: models/onnx_network.py)
and OpenVINO (requirements-bench.txt), unconditional, at 1 thread and at
every core, in ms per sample-step and as a share of the matrix-multiply peak at those threads
(bench/samplers.py's network table measures the peaks). The graph is the one a CPU worker runs
(models/onnx_network.py, exported from the committed weights); each backend's answer is checked
against eager PyTorch's on the same batch (the largest absolute difference of the predicted noise).
"""

from __future__ import annotations

import copy
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from models.catalog import model_versions
from models.loader import load_network
from models.onnx_network import OnnxRuntimeNetwork

BATCH = 16
NOISE_VARIANCE = 0.5


def openvino_call(network: torch.nn.Module, path: Path,
                  threads: int) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The graph on OpenVINO, unconditional (a class-conditional graph's labels all "no class")."""
    import openvino

    # fp32 as the other backends: on a CPU with native bf16 OpenVINO would otherwise pick bf16.
    compiled = openvino.Core().compile_model(str(path), "CPU", {"INFERENCE_NUM_THREADS": threads,
                                                                "INFERENCE_PRECISION_HINT": "f32"})
    request = compiled.create_infer_request()

    def call(images: torch.Tensor, variance: torch.Tensor) -> torch.Tensor:
        feeds = {"images": images.numpy(), "noise_variance": variance.numpy()}
        if network.num_classes:
            feeds["labels"] = torch.full((len(images),), network.num_classes).numpy()
        return torch.from_numpy(next(iter(request.infer(feeds).values())))
    return call


def eager_call(network: torch.nn.Module, channels_last: bool) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    layout = torch.channels_last if channels_last else torch.contiguous_format
    network = network.to(memory_format=layout)

    def call(images: torch.Tensor, variance: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return network(images.contiguous(memory_format=layout), variance)
    return call


BACKENDS = {"eager PyTorch": lambda network, path, threads: eager_call(network, False),
            "eager PyTorch, channels-last": lambda network, path, threads: eager_call(network, True),
            "ONNX Runtime": lambda network, path, threads: OnnxRuntimeNetwork(network, path, threads),
            "OpenVINO": openvino_call}


def backend_rows(weights: Path, peaks: dict[str, float], repeats: int = 9) -> list[dict[str, Any]]:
    """A row per backend and thread count for the default diffusion version's UNet; `peaks` are
    the fp32 matmul peaks by "fp32, <threads> threads"."""
    entry = model_versions("diffusion", weights)[0]
    network, _ = load_network(entry.manifest_path)
    images = torch.randn(BATCH, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    variance = torch.full((BATCH,), NOISE_VARIANCE)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        expected = network(images, variance)
    flops = counter.get_total_flops()
    path = entry.exported_graph()
    rows = []
    for threads in sorted({1, os.cpu_count() or 1}):
        torch.set_num_threads(threads)
        calls = {backend: make(copy.deepcopy(network), path, threads) for backend, make in BACKENDS.items()}
        times = interleaved_seconds(calls, images, variance, repeats)
        for backend, call in calls.items():
            seconds = statistics.median(times[backend])
            gflops = flops / seconds / 1e9
            rows.append({"network": f"diffusion {entry.version} (UNet forward)", "backend": backend,
                         "threads": threads, "ms_per_sample_step": round(1000 * seconds / BATCH, 3),
                         "of_peak": round(gflops / peaks[f"fp32, {threads} threads"], 3),
                         "max_abs_difference": (call(images, variance) - expected).abs().max().item()})
    return rows


def interleaved_seconds(calls: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]], images: torch.Tensor,
                        variance: torch.Tensor, repeats: int) -> dict[str, list[float]]:
    """Each call's seconds, `repeats` times, the backends taking turns after a warm-up call each: a
    machine whose speed drifts (a shared host, a CPU's clock) moves every backend's times alike."""
    for call in calls.values():
        call(images, variance)
    times: dict[str, list[float]] = {backend: [] for backend in calls}
    for _ in range(repeats):
        for backend, call in calls.items():
            start = time.perf_counter()
            call(images, variance)
            times[backend].append(time.perf_counter() - start)
    return times
