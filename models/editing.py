"""Editing with a sampler, apart from any network or schedule: image-to-image and inpainting.

Image-to-image (SDEdit, Meng et al., 2022): the picture is noised to the sampler's time `strength`
(1: pure noise, little of it left; 0: the picture itself, no step) and sampled from there, so the
sample keeps the picture's layout and colours and redraws its detail.

Inpainting: a mask (1 where to generate) says which pixels are new. After every step the others
are held to the picture, noised to the next step's time, and at the end to the picture itself (as
RePaint does, Lugmayr et al., 2022, without its resampling). The hole's own pixels are never seen:
they are replaced by 0, the mean colour in the normalised space, before anything else.

Each sampler noises the picture its own way (`known` in `held`); this file only says where.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional as F

IMAGE_TO_IMAGE_STRENGTH = 0.8  # the default without a mask: the picture's layout stays, its detail is redrawn
INPAINTING_STRENGTH = 1.0  # the default with a mask: the hole is generated from noise


@dataclass
class Edit:
    images: torch.Tensor  # (N, 3, H, W), in the network's normalised space: one picture per sample
    strength: float  # 0..1
    mask: torch.Tensor | None = None  # (N, 1, H, W): 1 where to generate, 0 where the picture stays

    def __post_init__(self) -> None:
        if not 0.0 <= self.strength <= 1.0:
            raise ValueError(f"strength must be in 0..1, not {self.strength}")
        if self.mask is not None:
            self.images = self.images * (1 - self.mask)

    def held(self, images: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        """`images` with the picture's pixels (`known`: the picture as it should look at this step)
        outside the mask; `images` itself for image-to-image."""
        if self.mask is None:
            return images
        return self.mask * images + (1 - self.mask) * known


def first_step(times: torch.Tensor, strength: float) -> int:
    """The index of the first of a sampler's step times (falling from 1 to 0) at or below
    `strength`: the step an edit starts from; len(times) (no step) for strength 0."""
    if strength == 0:
        return len(times)
    below = torch.nonzero(times <= strength + 1e-9)
    return int(below[0]) if len(below) else len(times)


def resized(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 (N, C, H, W) of any size -> float (N, C, size, size) in [0, 1], resized as the CIFAR-10
    models resize an input (bilinear, antialiased)."""
    x = images.float() / 255.0
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return x


def mask_from_image(mask: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 (3, H, W) mask picture of any size -> (1, size, size) of 0 and 1: 1 where it is light
    (white: to generate)."""
    return (resized(mask[None], size).mean(dim=1, keepdim=True) > 0.5).float()[0]


def mask_from_box(box: list[int], size: int) -> torch.Tensor:
    """[left, top, right, bottom] in pixels of the size x size picture -> (1, size, size), 1 inside."""
    left, top, right, bottom = box
    mask = torch.zeros(1, size, size)
    mask[:, top:bottom, left:right] = 1
    return mask
