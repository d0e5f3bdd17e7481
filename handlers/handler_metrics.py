"""The handlers' own Prometheus metrics, through TorchServe's metrics API (`context.metrics`),
declared in archive/metrics.yaml: requests by version and outcome, samples generated, sampler speed,
streams cancelled, and the time spent parsing, in the model, and encoding.

An outcome is "ok" or "<status> <field>" (handlers/request_handler.py, `RequestError.outcome`), with
no client-chosen text in it, so that what clients send cannot grow the number of series.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ts.metrics.dimension import Dimension
from ts.metrics.metric_type_enum import MetricTypes


class HandlerMetrics:
    def __init__(self, context: Any, version: str) -> None:
        self.metrics = context.metrics
        self.version = version

    def dimensions(self, *extra: Dimension) -> list[Dimension]:
        # A fresh list each call: TorchServe appends its default dimensions to the list it is given.
        return [*extra, Dimension("ModelVersion", self.version)]

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.metrics.add_counter("HandlerStageMilliseconds", round(1000 * (time.perf_counter() - start), 3),
                                     dimensions=self.dimensions(Dimension("Stage", name)))

    def outcome(self, label: str) -> None:
        """One request answered: "ok", or a refusal's `RequestError.outcome`."""
        self.metrics.add_counter("ModelRequests", 1, dimensions=self.dimensions(Dimension("Outcome", label)))

    def samples(self, count: int, sample_steps: int, seconds: float) -> None:
        self.metrics.add_counter("SamplesGenerated", count, dimensions=self.dimensions())
        if sample_steps and seconds > 0:
            self.metrics.add_metric("SamplerStepsPerSecond", round(sample_steps / seconds, 1), "count",
                                    dimensions=self.dimensions(), metric_type=MetricTypes.GAUGE)

    def stream_cancelled(self) -> None:
        self.metrics.add_counter("StreamsCancelled", 1, dimensions=self.dimensions())

