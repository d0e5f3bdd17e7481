"""The iterative samplers' contract (models/langevin.py `sample_from_noise`, models/diffusion_sampler.py
`reverse_diffusion`):

    sampler(network, seeds, steps, on_step=None, **settings) -> uint8 (N, 3, H, W), on the CPU

They run on the network's device, draw all their randomness from `seeds` (models/seeds.py: N
samples in groups, each group from its own CPU generator; the same images on any device, and a
request's images the same alone or merged with others), and report each step to `on_step`.
"""

from collections.abc import Callable

import torch

# on_step(step, steps, images): called after each of `steps` steps with the sampler's current
# images as uint8 (N, 3, H, W) on the network's device (Langevin: the chains; diffusion: the
# current estimate of the clean images).
StepCallback = Callable[[int, int, torch.Tensor], None]
