"""How long a sampler's work takes on this worker, so that its limits hold on whatever CPU or GPU serves it.

TorchServe kills a worker whose batch runs past the model's responseTimeout, and with it every
request the batch holds. A fixed cost cap (`max_sample_steps`) sized on one machine may take
minutes on a slower one, so at worker start the handler times one sampler step of the most samples
a request may ask for (`calibrated`), and keeps each batch within the timeout divided by MARGIN:
- a request that alone would take longer is refused (400) with the cap in force on this machine,
  `affordable`, which the describe call shows too;
- a group of requests that would take the batch past it, after the groups before it ran (at the
  speed they really ran: `expected_after`), is not started: its requests get 503 with Retry-After
  (handlers/iterative_sampler.py).

A worker on one CPU thread (every model-config's) times the step in CPU seconds of its process,
not wall-clock ones: workers that start together on a shared CPU would otherwise time each other's
load, and get a cap that depends on what else was starting. Load while serving is what
`expected_after` sees. With more threads, or on a GPU, the step is timed by the wall clock. The
step is timed at the largest batch, the cheapest per sample: a small batch costs more a sample
(diffusion's UNet on a 2-core AVX2 CPU: 16.7 ms a sample-step at one sample, 10.1 at 64), which
comes out of the margin; a request of a few samples has at most 1,000 steps.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

# A batch is planned to end within responseTimeout / MARGIN: at least 2x to spare where the CPU is
# shared and a request runs up to 1.5x slower than its worker's calibration said.
MARGIN = 3.0
BUDGET_WORDS = f"1/{MARGIN:g} of"  # how messages name the budget: "within 1/3 of the 360 s response timeout"
RETRY_AFTER_SECONDS = 1  # a group is refused at the end of its batch: the worker is free again then


@dataclass(frozen=True)
class SamplerClock:
    seconds_per_evaluation: float  # one network evaluation of one sample, measured on this worker
    response_timeout: float  # the model's responseTimeout, seconds

    @property
    def budget(self) -> float:
        """The seconds a batch may take: the timeout with a MARGIN to spare."""
        return self.response_timeout / MARGIN

    def seconds(self, evaluations: int) -> float:
        """The expected seconds of this many sample-evaluations on an otherwise idle worker."""
        return evaluations * self.seconds_per_evaluation

    def affordable(self) -> int:
        """The most sample-evaluations one batch can run within the budget on this worker."""
        return math.floor(self.budget / self.seconds_per_evaluation)

    def expected_after(self, evaluations: int, elapsed: float, done: int) -> float:
        """When a batch that has run `done` sample-evaluations in `elapsed` seconds would end after
        `evaluations` more, at the pace it has really kept (if slower than calibrated: load)."""
        slowdown = max(1.0, elapsed / self.seconds(done)) if done else 1.0
        return elapsed + slowdown * self.seconds(evaluations)


def calibrated(run_step: Callable[[], object], samples: int, response_timeout: float, cpu: bool) -> SamplerClock:
    """A clock from timing `run_step()`, one sampler step of `samples` samples, after a first call
    that only warms up (it allocates, and picks kernels); in CPU seconds where `cpu` (one thread)."""
    clock = time.process_time if cpu else time.perf_counter
    run_step()
    start = clock()
    run_step()
    return SamplerClock((clock() - start) / samples, response_timeout)
