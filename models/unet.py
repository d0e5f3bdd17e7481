"""The diffusion model's network: a UNet that predicts the noise in a noisy image.

It sees the noisy images (N, 3, 32, 32), normalised as in training, the noise variance of each
(N,) and, in a class-conditional network (`num_classes` > 0), each image's class (N,), where the
index `num_classes` means "no class" (trained by dropping classes, for classifier-free guidance).
It answers the noise it believes was added (N, 3, 32, 32). It knows nothing of schedules or
sampling: `models/diffusion_schedule.py` owns those.

Shape (the Keras DDIM example's, with GroupNorm and the noise embedding added in every block):
a 1x1 convolution lifts the image to widths[0] channels; each of the first three widths has
`block_depth` residual blocks whose outputs are kept for the skip connections, then an average
pool; the last width has `block_depth` blocks at 4x4; the way up mirrors the way down, each block
taking the matching skip, and a zero-initialised 1x1 convolution gives the noise. With
`attention_at` = 8 every block at 8x8 is followed by self-attention over its 64 positions (DDPM's
place for it). The class embedding is added to the noise embedding; it and the attention's output
start at zero, so a class-conditional network can start from an unconditional one's weights.
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


class SelfAttention(nn.Module):
    """GroupNorm -> single-head attention of every position to every other -> 1x1 projection
    (zero-initialised), added to the input."""

    def __init__(self, channels: int, groups: int) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.out = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(n, 3, c, h * w).transpose(-1, -2).unbind(1)
        attended = F.scaled_dot_product_attention(q, k, v)
        return x + self.out(attended.transpose(-1, -2).reshape(n, c, h, w))


class UNet(nn.Module):
    def __init__(self, widths: Sequence[int] = (32, 64, 96, 128), block_depth: int = 2, embedding_dim: int = 32,
                 groups: int = 8, num_classes: int = 0, attention_at: int | None = None) -> None:
        super().__init__()
        self.block_depth = block_depth
        self.embedding_dim = embedding_dim
        self.num_classes = num_classes
        depth, dim = block_depth, embedding_dim
        self.embed = nn.Sequential(nn.Linear(dim, 4 * dim), nn.SiLU(), nn.Linear(4 * dim, 4 * dim))
        if num_classes:
            self.class_embedding = nn.Embedding(num_classes + 1, 4 * dim)  # the last row: no class
            nn.init.zeros_(self.class_embedding.weight)
        self.stem = nn.Conv2d(3, widths[0], 1)
        # The resolution of each down block (32, then halved after each width's blocks), mirrored on the way up.
        resolutions = [32 // 2 ** level for level in range(len(widths) - 1) for _ in range(depth)]
        self.down_attention = nn.ModuleDict()
        self.up_attention = nn.ModuleDict()

        self.down = nn.ModuleList()
        skip_channels = []
        channels = widths[0]
        for width in widths[:-1]:
            for _ in range(depth):
                if resolutions[len(self.down)] == attention_at:
                    self.down_attention[str(len(self.down))] = SelfAttention(width, groups)
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
                if resolutions[-1 - len(self.up)] == attention_at:
                    self.up_attention[str(len(self.up))] = SelfAttention(width, groups)
                self.up.append(ResidualBlock(channels + skip_channels.pop(), width, 4 * dim, groups))
                channels = width
        self.head = nn.Sequential(nn.GroupNorm(groups, channels), nn.SiLU(), nn.Conv2d(channels, 3, 1))
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)

    def forward(self, noisy_images: torch.Tensor, noise_variance: torch.Tensor,
                labels: torch.Tensor | None = None) -> torch.Tensor:
        embedding = self.embed(sinusoidal_embedding(noise_variance, self.embedding_dim))
        if self.num_classes:
            if labels is None:
                labels = torch.full((len(noisy_images),), self.num_classes, device=noisy_images.device)
            embedding = embedding + self.class_embedding(labels)
        elif labels is not None:
            raise ValueError("this network takes no class")
        depth = self.block_depth
        x = self.stem(noisy_images)
        skips = []
        for i, block in enumerate(self.down):
            x = block(x, embedding)
            if str(i) in self.down_attention:
                x = self.down_attention[str(i)](x)
            skips.append(x)
            if i % depth == depth - 1:
                x = F.avg_pool2d(x, 2)
        for block in self.middle:
            x = block(x, embedding)
        for i, block in enumerate(self.up):
            if i % depth == 0:
                x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skips.pop()], dim=1), embedding)
            if str(i) in self.up_attention:
                x = self.up_attention[str(i)](x)
        return self.head(x)
