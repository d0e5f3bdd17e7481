"""The most expensive request each sampler's limits allow on this machine (num_samples at its
maximum, steps up to the cap in force; for a class-conditional version, also guided at its default
guidance, whose guided steps count twice), timed in-process at the served settings, against the
model's responseTimeout: TorchServe kills a worker whose batch runs past it. A batch runs its
requests one after another while the worker's clock expects them to end within a third of the timeout
(handlers/sampler_clock.py), so the worst batch is one filled to that budget at this request's real
speed: the margin is the timeout over that, 3 where the clock's estimate is exact."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bench.local_context import LocalContext
from handlers.class_label import LABEL_FIELD
from handlers.diffusion import GUIDANCE_FIELD
from models.catalog import catalog


def limit_rows(weights: Path) -> list[dict[str, Any]]:
    rows = []
    for entry in sorted(catalog(weights), key=lambda entry: (entry.model, entry.version)):
        if not entry.is_iterative:
            continue
        handler, context = entry.handler_class()(), LocalContext(entry.model, weights, entry.version)
        handler.initialize(context)
        config = entry.config
        num_samples = min(handler.limits["num_samples"][1], handler.max_sample_steps)
        plain = {"num_samples": num_samples, "seed": 0}
        bodies = {"": plain}
        if GUIDANCE_FIELD in handler.fields:
            bodies[", guided"] = {**plain, LABEL_FIELD: 0, GUIDANCE_FIELD: handler.defaults[GUIDANCE_FIELD]}
        for kind, body in bodies.items():
            cap = handler.max_sample_steps
            most = min(cap // num_samples, handler.limits[handler.steps_field][1])
            steps = max(n for n in range(1, most + 1) if num_samples * handler.network_evaluations(
                {**handler.defaults, **body, handler.steps_field: n}) <= cap)
            body = {**body, handler.steps_field: steps}
            start = time.perf_counter()
            [answer] = handler.handle([{"body": body}], context)
            seconds = time.perf_counter() - start
            if context.status(0) != 200:
                raise RuntimeError(f"{entry.model} {entry.version} refused its costliest request: {answer}")
            expected = handler.clock.seconds(handler.cost(handler.parse({"body": body})))
            worst_batch = max(seconds, handler.clock.budget * seconds / expected)
            rows.append({"model": entry.model, "version": entry.version,
                         "request": f"{num_samples} x {steps} steps{kind}", "seconds": round(seconds, 1),
                         "expected_seconds": round(expected, 1), "cap_in_force": cap,
                         "worst_batch_seconds": round(worst_batch, 1),
                         "response_timeout": config["responseTimeout"],
                         "margin": round(config["responseTimeout"] / worst_batch, 1)})
    return rows
