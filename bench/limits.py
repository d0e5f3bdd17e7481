"""The most expensive request each sampler's limits allow (num_samples at its maximum, steps up to
`max_sample_steps`), timed in-process at the served settings, against the model's responseTimeout:
TorchServe kills a worker whose batch runs past it, and a batch may hold `batchSize` such requests,
run one after another (handlers/iterative_sampler.py merges only up to the cap)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from archive.build import find_archives
from bench.serving import handler_class
from handlers.iterative_sampler import IterativeSamplerHandler
from handlers.local_context import LocalContext
from training.model_config import model_config


def limit_rows(weights: Path) -> list[dict[str, Any]]:
    rows = []
    for archive in sorted(find_archives().values(), key=lambda a: (a.model, a.version)):
        cls = handler_class(archive.model)
        if not issubclass(cls, IterativeSamplerHandler):
            continue
        handler, context = cls(), LocalContext(archive.model, weights, archive.version)
        handler.initialize(context)
        num_samples = handler.limits["num_samples"][1]
        steps = handler.limits["max_sample_steps"] // num_samples
        body = {"num_samples": num_samples, handler.steps_field: steps, "seed": 0}
        start = time.perf_counter()
        [answer] = handler.handle([{"body": body}], context)
        seconds = time.perf_counter() - start
        if context.status(0) != 200:
            raise RuntimeError(f"{archive.model} {archive.version} refused its costliest request: {answer}")
        config = model_config(archive.model)
        worst_batch = seconds * config["batchSize"]
        rows.append({"model": archive.model, "version": archive.version, "request": f"{num_samples} x {steps} steps",
                     "seconds": round(seconds, 1), "batch_size": config["batchSize"],
                     "worst_batch_seconds": round(worst_batch, 1), "response_timeout": config["responseTimeout"],
                     "margin": round(config["responseTimeout"] / worst_batch, 1)})
    return rows
