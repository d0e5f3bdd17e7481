"""The CPU this runs on, by name: what manifests and benchmark results say their figures came from."""

from __future__ import annotations

import platform


def cpu_name() -> str:
    """The model name the kernel reports ("AMD EPYC 9B14", "Intel(R) Xeon(R) Processor"), else what
    the platform module knows."""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
