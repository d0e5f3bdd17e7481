"""The arithmetic a sampler's network runs in: fp32, or bf16 through autocast where the hardware
has it (on a CPU: AVX-512 BF16 or AMX; elsewhere oneDNN emulates bf16, several times slower than
fp32, so it is never turned on there).

"auto" picks bf16 where it is native and fp32 elsewhere; an explicit "bf16" on hardware without
it falls back to fp32. The choice is made once, when a worker starts.
"""

from __future__ import annotations

import contextlib
import logging

import torch

PRECISIONS = ("auto", "fp32", "bf16")
logger = logging.getLogger(__name__)


def native_bf16(device: torch.device | str) -> bool:
    """Whether `device` does bf16 arithmetic in hardware: a CUDA GPU that supports it, a CPU with
    AVX-512 BF16 (every CPU with AMX has it). Not oneDNN's own check (`_is_mkldnn_bf16_supported`),
    which is true on any AVX-512 CPU, where bf16 is emulated."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return torch.cpu._is_avx512_bf16_supported()


def choose_precision(setting: str, device: torch.device) -> str:
    """"fp32" or "bf16" for a model-config's setting ("auto", "fp32" or "bf16") on `device`."""
    if setting not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {setting!r}")
    if setting == "fp32":
        return "fp32"
    if native_bf16(device):
        return "bf16"
    if setting == "bf16":
        logger.warning("bf16 asked for, but %s has no native bf16: running in fp32", device)
    return "fp32"


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """The context the network's calls run in for `precision` ("fp32" or "bf16")."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
