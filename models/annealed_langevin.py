"""Annealed Langevin dynamics on a noise-conditional energy (models/noise_conditional_energy.py):
ebm 2.0's sampler.

The chain starts from Gaussian noise at the top noise level of the diffusion schedule and walks the
levels down to clean images in `steps` steps (Song & Ermon, 2019, with one step a level). A step
at level σ (signal rate a, the next level's a', σ') is a Langevin step on the energy:

    x <- (a'/a) x  -  step_size · c · σ ∇ₓE(x, σ²)  +  noise · s · z,    z ~ N(0, I)

(a'/a rescales the chain to the next level of the variance-preserving schedule). c and s are the
move and the noise that carry the chain's distribution from one level to the next: with step_size 1
and noise 1 the step is the reverse diffusion's ancestral (DDPM) step; with noise 0 it is the
deterministic DDIM step, which needs fewest steps. `step_size` scales the move down the energy,
`noise` the Gaussian noise (with c adjusted so that the chain keeps the next level's variance).
This is the DDIM update of models/diffusion_schedule.py (eta = noise) on the noise σ ∇ₓE the
energy implies, scaled by step_size, which is how it is computed.
"""

from __future__ import annotations

import torch

from models.diffusion_sampler import reverse_diffusion
from models.noise_conditional_energy import EnergyNoisePredictor
from models.progress import StepCallback


def annealed_langevin(energy: torch.nn.Module, num_samples: int, seed: int, steps: int,
                      on_step: StepCallback | None = None, *, step_size: float, noise: float,
                      image_size: int = 32) -> torch.Tensor:
    """uint8 images (N, 3, size, size) on the CPU, on the energy's device (the samplers' contract,
    models/progress.py); `noise` in 0..1."""
    predictor = EnergyNoisePredictor(energy, scale=step_size).eval()
    return reverse_diffusion(predictor, num_samples, seed, steps, on_step, eta=noise, image_size=image_size)
