"""ebm 2.0's network: a noise-conditional energy E(x, σ²), one scalar per image.

The images are CIFAR-10 images noised to a level of the diffusion schedule
(models/diffusion_schedule.py), normalised as in models/images.py, and σ² is that level's noise
variance. The model's score is −∇ₓE, taken by autograd, and σ ∇ₓE is the noise it says the images
hold: denoising score matching (training/ebm_denoising.py) trains that to match the noise that was
added, as the diffusion model's UNet is trained to predict it directly (Salimans & Ho, 2021, report
that an energy so trained does about as well as a score model of the same structure). The energy
is an inner product with a UNet's output (models/unet.py):

    E(x, σ²) = ⟨x, g(x, σ²)⟩ / (2σ)

so that σ ∇ₓE = (g + J_gᵀ x) / 2, which is g itself wherever g is linear in x with a symmetric
Jacobian (the exact noise predictor of zero-mean Gaussian data is). A UNet trained as a noise
predictor is therefore a good start for g.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from models.unet import UNet


class NoiseConditionalEnergy(nn.Module):
    """(N, 3, 32, 32) noisy images and (N,) noise variances -> (N,) energies."""

    def __init__(self, widths: Sequence[int] = (32, 64, 96, 128), block_depth: int = 2, embedding_dim: int = 32,
                 groups: int = 8) -> None:
        super().__init__()
        self.unet = UNet(widths, block_depth, embedding_dim, groups)

    def forward(self, images: torch.Tensor, noise_variance: torch.Tensor) -> torch.Tensor:
        dtype = torch.promote_types(images.dtype, torch.float32)  # at least float32, under bf16 autocast too
        inner = (images.to(dtype) * self.unet(images, noise_variance).to(dtype)).flatten(1).sum(1)
        return inner / (2 * noise_variance.to(dtype).sqrt())


def predicted_noise(energy: nn.Module, images: torch.Tensor, noise_variance: torch.Tensor,
                    create_graph: bool = False) -> torch.Tensor:
    """σ ∇ₓE(x, σ²): the noise the energy says is in `images`. Gradients are turned on whatever the
    caller's mode (the handlers run in inference mode); with `create_graph` the result can itself be
    differentiated (training)."""
    with torch.inference_mode(False), torch.enable_grad():
        x = images.detach().clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(energy(x, noise_variance).sum(), x, create_graph=create_graph)
        return noise_variance.clone().sqrt().view(-1, 1, 1, 1) * grad


class EnergyNoisePredictor(nn.Module):
    """An energy seen as a noise predictor (the diffusion UNet's interface): `scale` σ ∇ₓE,
    differentiable itself with `create_graph` (training)."""

    def __init__(self, energy: nn.Module, scale: float = 1.0, create_graph: bool = False) -> None:
        super().__init__()
        self.energy = energy
        self.scale = scale
        self.create_graph = create_graph

    def forward(self, images: torch.Tensor, noise_variance: torch.Tensor) -> torch.Tensor:
        return self.scale * predicted_noise(self.energy, images, noise_variance, self.create_graph)
