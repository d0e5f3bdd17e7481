"""The energy-based model's network: a convolutional energy function E(x) for 32x32 RGB images.

Low energy means "looks like the data". Four stride-2 convolutions (16/32/64/64 channels in the
original; `width` multiplies them) with Swish activations shrink the image to 2x2, then a small
fully connected head gives one number per image. Swish rather than ReLU because Langevin sampling
follows the gradient of E with respect to the input, and that gradient should be smooth.
`models/langevin.py` does the sampling.
"""

from __future__ import annotations

import torch
from torch import nn


class EnergyNet(nn.Module):
    """(N, 3, 32, 32) images in [-1, 1] -> (N,) energies."""

    def __init__(self, width: int = 1, spectral_norm: bool = False) -> None:
        super().__init__()
        c1, c2, c3, c4 = (16 * width, 32 * width, 64 * width, 64 * width)
        self.width = width
        # Spectral norm keeps each layer's weights (a conv's kernel as a matrix) at norm 1, so the
        # energy cannot grow arbitrarily steep walls.
        layer = nn.utils.parametrizations.spectral_norm if spectral_norm else (lambda module: module)
        self.features = nn.Sequential(
            layer(nn.Conv2d(3, c1, 5, stride=2, padding=2)), nn.SiLU(),   # 16x16
            layer(nn.Conv2d(c1, c2, 3, stride=2, padding=1)), nn.SiLU(),  # 8x8
            layer(nn.Conv2d(c2, c3, 3, stride=2, padding=1)), nn.SiLU(),  # 4x4
            layer(nn.Conv2d(c3, c4, 3, stride=2, padding=1)), nn.SiLU(),  # 2x2
            nn.Flatten(),
        )
        self.head = nn.Sequential(layer(nn.Linear(c4 * 4, 64)), nn.SiLU(), layer(nn.Linear(64, 1)))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images)).squeeze(1)
