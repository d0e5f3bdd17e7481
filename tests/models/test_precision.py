from pathlib import Path

import pytest
import torch

import models.precision
from models.precision import autocast, choose_precision


def test_auto_is_bf16_only_where_it_is_native(monkeypatch):
    cpu = torch.device("cpu")
    assert choose_precision("fp32", cpu) == "fp32"
    monkeypatch.setattr(models.precision, "native_bf16", lambda device: True)
    assert choose_precision("auto", cpu) == choose_precision("bf16", cpu) == "bf16"
    monkeypatch.setattr(models.precision, "native_bf16", lambda device: False)
    assert choose_precision("auto", cpu) == choose_precision("bf16", cpu) == "fp32"  # never emulated
    with pytest.raises(ValueError, match="precision"):
        choose_precision("fp16", cpu)


def test_native_bf16_is_the_cpus_avx512_bf16_not_onednns_emulation():
    flags = Path("/proc/cpuinfo").read_text().split() if Path("/proc/cpuinfo").exists() else []
    if not flags:
        pytest.skip("no /proc/cpuinfo to compare with")
    assert models.precision.native_bf16("cpu") == ("avx512_bf16" in flags)


def test_bf16_autocast_runs_convolutions_in_bf16_and_fp32_does_not():
    conv, x = torch.nn.Conv2d(3, 4, 3), torch.randn(1, 3, 8, 8)
    with autocast("bf16", torch.device("cpu")):
        assert conv(x).dtype == torch.bfloat16
    with autocast("fp32", torch.device("cpu")):
        assert conv(x).dtype == torch.float32
