"""The served diffusion UNet's step on other inference backends: eager PyTorch (contiguous, and
channels-last as served), ONNX Runtime and OpenVINO (requirements-bench.txt), at 1 thread and at
every core, in ms per sample-step and as a share of the matrix-multiply peak at those threads
(bench/samplers.py's network table measures the peaks). The graph is exported from the committed
weights into a temporary folder (torch.onnx's TorchScript exporter: nothing is downloaded); each
backend's answer is checked against eager PyTorch's on the same batch (the largest absolute
difference of the predicted noise).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from bench.timing import median_seconds
from models.catalog import model_versions

BATCH = 16
NOISE_VARIANCE = 0.5


def export_onnx(network: torch.nn.Module, images: torch.Tensor, variance: torch.Tensor, path: Path) -> None:
    """The network's (images, noise variance) -> noise graph, any batch size."""
    torch.onnx.export(network, (images, variance), str(path), input_names=["images", "noise_variance"],
                      output_names=["noise"], opset_version=17, dynamo=False,
                      dynamic_axes={"images": {0: "batch"}, "noise_variance": {0: "batch"}, "noise": {0: "batch"}})


def onnxruntime_call(path: Path, threads: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda images, variance: session.run(None, {"images": images, "noise_variance": variance})[0]


def openvino_call(path: Path, threads: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    import openvino

    compiled = openvino.Core().compile_model(str(path), "CPU", {"INFERENCE_NUM_THREADS": threads})
    request = compiled.create_infer_request()
    return lambda images, variance: next(iter(request.infer({"images": images,
                                                             "noise_variance": variance}).values()))


def eager_call(network: torch.nn.Module, channels_last: bool) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    layout = torch.channels_last if channels_last else torch.contiguous_format
    network = network.to(memory_format=layout)

    def call(images: np.ndarray, variance: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            x = torch.from_numpy(images).contiguous(memory_format=layout)
            return network(x, torch.from_numpy(variance)).numpy()
    return call


BACKENDS = {"eager PyTorch": lambda network, path, threads: eager_call(network, False),
            "eager PyTorch, channels-last": lambda network, path, threads: eager_call(network, True),
            "ONNX Runtime": lambda network, path, threads: onnxruntime_call(path, threads),
            "OpenVINO": lambda network, path, threads: openvino_call(path, threads)}


def backend_rows(weights: Path, peaks: dict[str, float], repeats: int = 5) -> list[dict[str, Any]]:
    """A row per backend and thread count for the default diffusion version's UNet; `peaks` are
    the fp32 matmul peaks by "fp32, <threads> threads"."""
    entry = model_versions("diffusion", weights)[0]
    network = entry.network("cpu")
    images = torch.randn(BATCH, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    variance = torch.full((BATCH,), NOISE_VARIANCE)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        expected = network(images, variance).numpy()
    flops = counter.get_total_flops()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "unet.onnx"
        export_onnx(network, images, variance, path)
        inputs = (images.numpy(), variance.numpy())
        for threads in sorted({1, os.cpu_count() or 1}):
            torch.set_num_threads(threads)
            for backend, make in BACKENDS.items():
                call = make(network, path, threads)
                seconds = median_seconds(lambda call=call: call(*inputs), repeats)
                gflops = flops / seconds / 1e9
                rows.append({"network": f"diffusion {entry.version} (UNet forward)", "backend": backend,
                             "threads": threads, "ms_per_sample_step": round(1000 * seconds / BATCH, 3),
                             "of_peak": round(gflops / peaks[f"fp32, {threads} threads"], 3),
                             "max_abs_difference": float(np.abs(call(*inputs) - expected).max())})
    return rows
