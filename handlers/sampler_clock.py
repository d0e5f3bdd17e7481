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

On a CPU the step is timed in CPU seconds of this process, not wall-clock ones: workers that start
together on a shared CPU would otherwise time each other's load, and get a cap that depends on
what else was starting. Load while serving is what `expected_after` sees.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

# A batch is planned to end within responseTimeout / MARGIN: at least 2x to spare where the CPU is
# shared and a request runs up to 1.5x slower than its worker's calibration said.
MARGIN = 3.0
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
    that only warms up (it allocates, and picks kernels); in CPU seconds where `cpu`."""
    clock = time.process_time if cpu else time.perf_counter
    run_step()
    start = clock()
    run_step()
    return SamplerClock((clock() - start) / samples, response_timeout)
