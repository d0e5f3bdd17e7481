"""The course recipe's sampler as the original service ran it, written plainly, for `make bench` to
time ours against: an energy network of four stride-2 convolutions (16/32/64/64 channels, SiLU)
and 256 Langevin steps of 16 samples from uniform noise, each step adding noise and then moving
down the gradient (clipped), with every parameter still asking for gradients."""

from __future__ import annotations

import torch
from torch import nn

STEPS = 256
STEP_SIZE = 10.0
NOISE = 0.005
GRAD_CLIP = 0.03


class CourseEnergy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.Sequential(
            nn.Conv2d(3, 16, 5, stride=2, padding=2), nn.SiLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.SiLU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.SiLU(),
            nn.Conv2d(64, 64, 3, stride=2, padding=1), nn.SiLU(),
            nn.Flatten())
        self.head = nn.Sequential(nn.Linear(64 * 2 * 2, 64), nn.SiLU(), nn.Linear(64, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.convs(x)).squeeze(-1)


def course_langevin(model: nn.Module, num_samples: int = 16) -> torch.Tensor:
    x = torch.rand(num_samples, 3, 32, 32) * 2 - 1
    for _ in range(STEPS):
        x = (x + NOISE * torch.randn_like(x)).clamp(-1, 1)
        x.requires_grad_(True)
        energy = model(x).sum()
        (grad,) = torch.autograd.grad(energy, x)
        x = (x - STEP_SIZE * grad.clamp(-GRAD_CLIP, GRAD_CLIP)).detach().clamp(-1, 1)
    return x
