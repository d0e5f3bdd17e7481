"""Langevin dynamics: sampling images from an energy function by noisy gradient descent on it.

Each step adds Gaussian noise to the images, takes the gradient of the energy with respect to the
images (not the weights), clips it, steps down it and clamps the images to [-1, 1]:

    x <- clamp(x + noise * N(0, I), -1, 1)
    x <- clamp(x - step_size * clip(dE/dx, -grad_clip, grad_clip), -1, 1)

It needs autograd, so it turns gradients on itself: it works the same when called inside
`torch.no_grad()` or `torch.inference_mode()` (TorchServe's default inference path).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from models.images import to_uint8
from models.progress import StepCallback
from models.seeds import Seeds

GRAD_CLIP = 0.03


def langevin_sample(energy: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, steps: int,
                    step_size: float, noise: float, seeds: Seeds | None = None,
                    grad_clip: float = GRAD_CLIP, on_step: StepCallback | None = None) -> torch.Tensor:
    """Run `steps` Langevin steps from `images`; returns new images (detached), leaving the input as is.

    The step noise comes from `seeds` on the CPU (the global RNG if None): the same noise on any
    device.
    """
    with torch.inference_mode(False):  # so that the result is an ordinary tensor, whatever the caller's mode
        x = images.detach().clone()
        for step in range(steps):
            step_noise = (seeds.randn(*x.shape[1:]) if seeds is not None else torch.randn(x.shape)).to(x.device)
            x = (x + noise * step_noise).clamp(-1, 1)
            x = (x - gradient_move(energy, x, step_size, grad_clip)).clamp(-1, 1)
            if on_step is not None:
                on_step(step + 1, steps, to_uint8(x))
    return x


def gradient_move(energy: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, step_size: float,
                  grad_clip: float = GRAD_CLIP) -> torch.Tensor:
    """The move down the energy that one Langevin step subtracts from `images` (detached)."""
    with torch.inference_mode(False), torch.enable_grad():
        x = images.detach().clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(energy(x).sum(), x)
    return step_size * grad.clamp(-grad_clip, grad_clip)


def sample_from_noise(energy: torch.nn.Module, seeds: Seeds, steps: int, on_step: StepCallback | None = None, *,
                      step_size: float, noise: float, image_size: int = 32) -> torch.Tensor:
    """uint8 images (N, 3, size, size) on the CPU: chains from uniform noise in [-1, 1], on the
    energy network's device. The start and then every step's noise come from `seeds`, so
    different seeds never share a random stream (the samplers' contract, models/progress.py)."""
    device = next(energy.parameters()).device
    start = seeds.rand(3, image_size, image_size) * 2 - 1
    chains = langevin_sample(energy, start.to(device), steps, step_size, noise, seeds, on_step=on_step)
    return to_uint8(chains).cpu()
