"""Annealed Langevin dynamics on a noise-conditional energy (models/noise_conditional_energy.py):
ebm 2.0's sampler.

The chain starts from Gaussian noise at the top noise level of the diffusion schedule and walks the
levels down to clean images in `steps` steps, one step a level (Song & Ermon, 2019, anneal the same
way but take many Langevin steps at each level; one step a level is what a few-second request
affords). A step at level σ (signal rate a; the next level's a', σ') moves down the energy and adds
Gaussian noise:

    x <- (a'/a) x  -  step_size · c · σ ∇ₓE(x, σ²)  +  noise · s · z,    z ~ N(0, I)

a'/a rescales the chain to the next level of the variance-preserving schedule; s is the noise and c
the move that carry the chain's distribution from one level to the next. With step_size 1 and
noise 1 the step is the Langevin-type ancestral step of reverse diffusion (DDPM); with noise 0 it
is its deterministic limit, the DDIM step (c grows as noise shrinks, so that the chain keeps the
next level's variance). step_size scales the energy's gradient everywhere in the step, the
estimate of the clean images included, so values other than 1 bias the chain; the last step lands
on that estimate. Computed as the DDIM update of models/diffusion_schedule.py (eta = noise) on
step_size · σ ∇ₓE.

`sampler` "dpmpp_2m" walks the same chain's deterministic limit (noise 0) with DPM-Solver++(2M)
instead (models/dpm_solver.py): second order in the noise level at one energy gradient a step, as
for diffusion, where 10 such steps beat DDIM's 50.

Editing (models/editing.py) is reverse diffusion's: the chain starts from the picture noised to the
level `strength`, and an inpainting holds the picture, noised to each next level, outside the mask
(the classic demonstration of an energy model: completing a picture by walking down its energy).
"""

from __future__ import annotations

import torch

from models.diffusion_sampler import reverse_diffusion
from models.editing import Edit
from models.noise_conditional_energy import EnergyNoisePredictor
from models.progress import StepCallback
from models.seeds import Seeds


def annealed_langevin(energy: torch.nn.Module, seeds: Seeds, steps: int, on_step: StepCallback | None = None, *,
                      sampler: str, step_size: float, noise: float, image_size: int = 32,
                      edit: Edit | None = None) -> torch.Tensor:
    """uint8 images (N, 3, size, size), returned on the CPU and computed on the energy's device (the
    samplers' contract, models/progress.py); `sampler` "ddim" (the chain above) or "dpmpp_2m"
    (noise 0 only); `noise` in 0..1; `edit` in the normalised space."""
    predictor = EnergyNoisePredictor(energy, scale=step_size)
    return reverse_diffusion(predictor, seeds, steps, on_step, sampler=sampler, eta=noise, image_size=image_size,
                             edit=edit)
