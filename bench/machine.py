"""The machine a benchmark ran on, and the physical limit it is measured against: the
matrix-multiply peak (GFLOP/s) at a number of threads and a precision, measured in the same run."""

from __future__ import annotations

import os
import re
import time
from typing import Any

import torch

from models.cpu import cpu_name
from models.precision import native_bf16

MATMUL_SIZE = 1024
# The slowest CPU the project is measured on (2-core AMD EPYC, AVX2, no native bf16): speed targets are
# stated for it, and figures from other CPUs are scaled to it by the ratio of the one-thread fp32 peaks.
TARGET_MACHINE = "amd-epyc-2-cores-avx2"
PEAK = "fp32, 1 threads"  # the peak the workers' step runs against: one thread each, fp32


def describe() -> dict[str, Any]:
    return {"cpu": cpu_name(), "cores": os.cpu_count(), "capability": torch.backends.cpu.get_cpu_capability(),
            "native_bf16": native_bf16(torch.device("cpu")), "torch": torch.__version__}


def slug(machine: dict[str, Any]) -> str:
    """A file name for the machine: its CPU, cores and capability."""
    text = f"{machine['cpu']}-{machine['cores']}-cores-{machine['capability']}"
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def matmul_peak(dtype: torch.dtype, seconds: float = 1.0) -> float:
    """GFLOP/s of square matrix multiplies at the current number of threads: the best of a few
    one-second rounds."""
    a = torch.randn(MATMUL_SIZE, MATMUL_SIZE).to(dtype)
    b = torch.randn(MATMUL_SIZE, MATMUL_SIZE).to(dtype)
    torch.mm(a, b)
    best = 0.0
    for _ in range(3):
        count, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds / 3:
            torch.mm(a, b)
            count += 1
        best = max(best, 2 * MATMUL_SIZE ** 3 * count / elapsed / 1e9)
    return best
