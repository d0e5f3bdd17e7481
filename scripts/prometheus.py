"""TorchServe's metrics as its metrics address serves them (Prometheus text), read into numbers.

Used by `make bench` (bench/serving.py: where a served request's time goes) and the metrics tests.
"""

from __future__ import annotations

import re

import requests

SAMPLE = re.compile(r'^(\w+)\{(.*)\} ([0-9.eE+-]+)$')
Samples = dict[tuple[str, frozenset], float]


def scrape(metrics_url: str) -> Samples:
    """{(metric, its labels without the host and level): value}."""
    values = {}
    for line in requests.get(f"{metrics_url}/metrics", timeout=10).text.splitlines():
        match = SAMPLE.match(line)
        if match:
            labels = frozenset((k, v) for k, v in re.findall(r'(\w+)="([^"]*)"', match[2])
                               if k not in ("Hostname", "hostname", "Level"))
            values[(match[1], labels)] = float(match[3])
    return values


def value(values: Samples, metric: str, **labels: str) -> float:
    """The sum of the metric's series that carry at least these labels."""
    wanted = set(labels.items())
    return sum(number for (name, series), number in values.items() if name == metric and wanted <= series)
