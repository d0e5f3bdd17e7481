"""The toy model of the README's "Adding a model": a straight line, y = slope * x + intercept."""

import torch
from torch import nn


class Line(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)
