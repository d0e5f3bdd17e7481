"""Where a batch of samples takes its randomness: consecutive groups of samples (one group per
request), each drawing from its own CPU generator in the order it would draw alone.

So a request's samples are the same whether it is sampled alone or merged with other requests
into one batch (up to floating-point kernels whose rounding depends on the batch size), and the
same on any device.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch


class Seeds:
    def __init__(self, groups: Sequence[tuple[int, int | torch.Generator]]) -> None:
        """`groups`: (number of samples, seed or generator) for each group, in batch order."""
        self.counts = [count for count, _ in groups]
        self.generators = [source if isinstance(source, torch.Generator) else torch.Generator().manual_seed(source)
                           for _, source in groups]

    @classmethod
    def one(cls, num_samples: int, seed: int) -> Seeds:
        return cls([(num_samples, seed)])

    def __len__(self) -> int:
        return sum(self.counts)

    def randn(self, *shape: int) -> torch.Tensor:
        """(N, *shape) standard normal noise on the CPU, each group's from its own generator."""
        return self._draw(torch.randn, shape)

    def rand(self, *shape: int) -> torch.Tensor:
        """(N, *shape) uniform noise in [0, 1) on the CPU, each group's from its own generator."""
        return self._draw(torch.rand, shape)

    def split(self, images: torch.Tensor) -> list[torch.Tensor]:
        """The batch's images, group by group."""
        return list(images.split(self.counts))

    def _draw(self, draw: Callable[..., torch.Tensor], shape: tuple[int, ...]) -> torch.Tensor:
        return torch.cat([draw(count, *shape, generator=generator)
                          for count, generator in zip(self.counts, self.generators)])
