"""Image value conversions, the one place for them: uint8 pixels to and from the float ranges the
networks work in.

- [-1, 1] (`to_unit_range` / `to_uint8`): the GANs and the energy-based model.
- Standardised per channel with the CIFAR-10 training images' mean and std (`standardize`,
  `normalize` / `denormalize`): the CIFAR-10 classifiers and the diffusion model.
"""

from __future__ import annotations

import torch

# Per-channel mean and std of the CIFAR-10 training images, in [0, 1].
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)


def to_unit_range(images: torch.Tensor) -> torch.Tensor:
    """uint8 in [0, 255] -> floats in [-1, 1]."""
    return images.float() / 127.5 - 1.0


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Floats in [-1, 1] (values beyond are clipped) -> uint8 in [0, 255]."""
    return ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def standardize(images: torch.Tensor) -> torch.Tensor:
    """Floats in [0, 1] (N, 3, H, W) -> zero mean and unit variance per channel (over CIFAR-10)."""
    mean, std = _channel_stats(images.device)
    return (images - mean) / std


def normalize(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 3, H, W) -> standardised floats."""
    return standardize(images.float() / 255.0)


def denormalize(images: torch.Tensor) -> torch.Tensor:
    """The inverse of `normalize`, clipped to the valid range: standardised floats -> uint8."""
    mean, std = _channel_stats(images.device)
    return ((images.float() * std + mean).clamp(0, 1) * 255).round().to(torch.uint8)


def _channel_stats(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    mean = torch.tensor(CIFAR10_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR10_STD, device=device).view(1, 3, 1, 1)
    return mean, std
