"""DCGAN-style MNIST generators and discriminators.

Version 1.0 is the original design (unconditional). Version 2.0 is class-conditional: the
generator gets a learned embedding of the digit with its noise, and the discriminator is a
projection discriminator (Miyato & Koyama, 2018): its score is a linear function of its features
plus their inner product with an embedding of the digit.

Generators map noise (N, 100) [and digits (N,)] to images (N, 1, 28, 28) in [-1, 1].
"""

from __future__ import annotations

import torch
from torch import nn

from models.seeds import Seeds

LATENT_DIM = 100
NUM_CLASSES = 10


class Generator(nn.Module):
    """Version 1.0: latent 100 -> FC -> 7x7x128 -> ConvTranspose (BatchNorm, ReLU) -> ConvTranspose -> Tanh."""

    conditional = False

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(LATENT_DIM, 7 * 7 * 128)
        self.net = nn.Sequential(
            nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
            nn.ConvTranspose2d(64, 1, 4, stride=2, padding=1), nn.Tanh(),
        )

    def forward(self, z: torch.Tensor, digits: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(self.fc(z).view(-1, 128, 7, 7))


class Discriminator(nn.Module):
    """Version 1.0: Conv -> Conv (BatchNorm) -> FC -> Sigmoid, LeakyReLU 0.2."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 64, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(64, 128, 4, stride=2, padding=1), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(128 * 7 * 7, 1), nn.Sigmoid(),
        )

    def forward(self, images: torch.Tensor, digits: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(images).squeeze(1)


class ConditionalGenerator(nn.Module):
    """Version 2.0: [noise, digit embedding] -> FC -> 7x7x128 -> two upsampling blocks -> 28x28x1."""

    conditional = True

    def __init__(self, embedding_dim: int = 32) -> None:
        super().__init__()
        self.embed = nn.Embedding(NUM_CLASSES, embedding_dim)
        self.fc = nn.Sequential(nn.Linear(LATENT_DIM + embedding_dim, 7 * 7 * 128),
                                nn.BatchNorm1d(7 * 7 * 128), nn.ReLU())
        self.net = nn.Sequential(
            nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
            nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
            nn.Conv2d(32, 1, 3, padding=1), nn.Tanh(),
        )

    def forward(self, z: torch.Tensor, digits: torch.Tensor | None = None) -> torch.Tensor:
        h = self.fc(torch.cat([z, self.embed(digits)], dim=1))
        return self.net(h.view(-1, 128, 7, 7))


class ProjectionDiscriminator(nn.Module):
    """Version 2.0: three strided convs -> features h; logit = w.h + embed(digit).h (no sigmoid)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 64, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(64, 128, 4, stride=2, padding=1), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),
            nn.Conv2d(128, 128, 3, stride=2, padding=1), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),
            nn.Flatten(),
        )
        self.linear = nn.Linear(128 * 4 * 4, 1)
        self.embed = nn.Embedding(NUM_CLASSES, 128 * 4 * 4)
        nn.init.zeros_(self.embed.weight)  # the projection starts neutral instead of dominating the logit

    def forward(self, images: torch.Tensor, digits: torch.Tensor | None = None) -> torch.Tensor:
        h = self.features(images)
        return self.linear(h).squeeze(1) + (self.embed(digits) * h).sum(dim=1)


def sample_inputs(num_samples: int, seed: int, digit: int | None, conditional: bool,
                  device: str | torch.device = "cpu") -> tuple[torch.Tensor, torch.Tensor | None]:
    """Noise and digits for one request; the same seed gives the same inputs on every device."""
    return batch_inputs(Seeds.one(num_samples, seed), [digit], conditional, device)


def batch_inputs(seeds: Seeds, digits: list[int | None], conditional: bool,
                 device: str | torch.device = "cpu") -> tuple[torch.Tensor, torch.Tensor | None]:
    """Noise and digits for a batch of requests, one group of `seeds` and one digit (or None) each:
    each request's inputs are the ones it would get alone (models/seeds.py).

    Without a digit, a conditional generator draws a mix: the digits cycle 0..9 from a
    seed-dependent start, so a grid shows every digit.
    """
    z = seeds.randn(LATENT_DIM)
    if not conditional:
        return z.to(device), None
    parts = []
    for count, generator, digit in zip(seeds.counts, seeds.generators, digits):
        if digit is None:
            start = int(torch.randint(0, NUM_CLASSES, (1,), generator=generator))
            parts.append((torch.arange(count) + start) % NUM_CLASSES)
        else:
            parts.append(torch.full((count,), digit))
    return z.to(device), torch.cat(parts).to(device)
