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

GRAD_CLIP = 0.03

# on_step(step, steps, current images in [-1, 1]): called after each step, for progress.
StepCallback = Callable[[int, int, torch.Tensor], None]


def initial_noise(num_samples: int, seed: int, image_size: int = 32) -> torch.Tensor:
    """Uniform noise in [-1, 1], the chains' start, from a CPU generator: the same on every device."""
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(num_samples, 3, image_size, image_size, generator=generator) * 2 - 1


def langevin_sample(energy: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, steps: int,
                    step_size: float, noise: float, generator: torch.Generator | None = None,
                    grad_clip: float = GRAD_CLIP, on_step: StepCallback | None = None) -> torch.Tensor:
    """Run `steps` Langevin steps from `images`; returns new images (detached), leaving the input as is.

    The step noise comes from `generator` on the CPU (the global RNG if None), so a seed gives the
    same chain on any device.
    """
    with torch.inference_mode(False), torch.enable_grad():
        x = images.detach().clone()
        for step in range(steps):
            step_noise = torch.randn(x.shape, generator=generator).to(x.device)
            x = (x + noise * step_noise).clamp(-1, 1).requires_grad_(True)
            (grad,) = torch.autograd.grad(energy(x).sum(), x)
            x = (x - step_size * grad.clamp(-grad_clip, grad_clip)).clamp(-1, 1).detach()
            if on_step is not None:
                on_step(step + 1, steps, x)
    return x
