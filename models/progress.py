"""The iterative samplers' contract (models/langevin.py `sample_from_noise`, models/diffusion_sampler.py
`reverse_diffusion`):

    sampler(network, num_samples, seed, steps, on_step=None, **settings) -> uint8 (N, 3, H, W), on the CPU

They run on the network's device, draw all their randomness from a CPU generator seeded with `seed`
(the same images on any device), and report each step to `on_step`.
"""

from collections.abc import Callable

import torch

# on_step(step, steps, images): called after each of `steps` steps with the sampler's current
# images as uint8 (N, 3, H, W) on the network's device (Langevin: the chains; diffusion: the
# current estimate of the clean images).
StepCallback = Callable[[int, int, torch.Tensor], None]
