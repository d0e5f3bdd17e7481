"""The diffusion model's network: a UNet that predicts the noise in a noisy image.

It sees the noisy images (N, 3, 32, 32), normalised as in training, and the noise variance of each
(N,), and answers the noise it believes was added (N, 3, 32, 32). It knows nothing of schedules
or sampling: `models/diffusion_schedule.py` owns those.

Shape (the Keras DDIM example's, with GroupNorm and the noise embedding added in every block):
a 1x1 convolution lifts the image to widths[0] channels; each of the first three widths has
`block_depth` residual blocks whose outputs are kept for the skip connections, then an average
pool; the last width has `block_depth` blocks at 4x4; the way up mirrors the way down, each block
taking the matching skip, and a zero-initialised 1x1 convolution gives the noise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F


def sinusoidal_embedding(noise_variance: torch.Tensor, dim: int) -> torch.Tensor:
    """(N,) noise variances -> (N, dim): sines and cosines at frequencies spaced
    geometrically from 1 to 1000, so both small and large variances are told apart."""
    frequencies = torch.exp(torch.linspace(math.log(1.0), math.log(1000.0), dim // 2,
                                           device=noise_variance.device))
    angles = 2 * math.pi * noise_variance[:, None].float() * frequencies
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


class ResidualBlock(nn.Module):
    """GroupNorm -> SiLU -> 3x3 conv, plus the projected noise embedding, -> GroupNorm -> SiLU ->
    3x3 conv, added to the input (through a 1x1 convolution when the width changes)."""

    def __init__(self, in_channels: int, out_channels: int, embedding_dim: int, groups: int) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.embedding = nn.Linear(embedding_dim, out_channels)
        self.norm2 = nn.GroupNorm(groups, out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.skip = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()

    def forward(self, x: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.embedding(embedding)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + self.skip(x)


class UNet(nn.Module):
    def __init__(self, widths: Sequence[int] = (32, 64, 96, 128), block_depth: int = 2, embedding_dim: int = 32,
                 groups: int = 8) -> None:
        super().__init__()
        self.block_depth = block_depth
        self.embedding_dim = embedding_dim
        depth, dim = block_depth, embedding_dim
        self.embed = nn.Sequential(nn.Linear(dim, 4 * dim), nn.SiLU(), nn.Linear(4 * dim, 4 * dim))
        self.stem = nn.Conv2d(3, widths[0], 1)

        self.down = nn.ModuleList()
        skip_channels = []
        channels = widths[0]
        for width in widths[:-1]:
            for _ in range(depth):
                self.down.append(ResidualBlock(channels, width, 4 * dim, groups))
                channels = width
                skip_channels.append(channels)
        self.middle = nn.ModuleList()
        for _ in range(depth):
            self.middle.append(ResidualBlock(channels, widths[-1], 4 * dim, groups))
            channels = widths[-1]
        self.up = nn.ModuleList()
        for width in reversed(widths[:-1]):
            for _ in range(depth):
                self.up.append(ResidualBlock(channels + skip_channels.pop(), width, 4 * dim, groups))
                channels = width
        self.head = nn.Sequential(nn.GroupNorm(groups, channels), nn.SiLU(), nn.Conv2d(channels, 3, 1))
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)

    def forward(self, noisy_images: torch.Tensor, noise_variance: torch.Tensor) -> torch.Tensor:
        embedding = self.embed(sinusoidal_embedding(noise_variance, self.embedding_dim))
        depth = self.block_depth
        x = self.stem(noisy_images)
        skips = []
        for i, block in enumerate(self.down):
            x = block(x, embedding)
            skips.append(x)
            if i % depth == depth - 1:
                x = F.avg_pool2d(x, 2)
        for block in self.middle:
            x = block(x, embedding)
        for i, block in enumerate(self.up):
            if i % depth == 0:
                x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skips.pop()], dim=1), embedding)
        return self.head(x)
