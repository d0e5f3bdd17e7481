"""How the iterative samplers (models/langevin.py, models/diffusion_sampler.py) report progress."""

from collections.abc import Callable

import torch

# on_step(step, steps, images): called after each of `steps` steps with the sampler's current
# images (Langevin: the images in [-1, 1]; diffusion: the predicted clean images, normalised).
StepCallback = Callable[[int, int, torch.Tensor], None]
