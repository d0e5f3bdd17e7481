import torch

from models.annealed_langevin import annealed_langevin
from models.diffusion_sampler import reverse_diffusion
from models.noise_conditional_energy import EnergyNoisePredictor
from tests.helpers import tiny_energy


def test_chains_are_seeded_uint8_and_report_every_step():
    energy = tiny_energy()
    seen = []
    first = annealed_langevin(energy, 3, 1, 4, lambda i, n, x: seen.append((i, n, x.dtype)), step_size=1.0,
                              noise=1.0)
    assert first.shape == (3, 3, 32, 32) and first.dtype == torch.uint8 and first.device.type == "cpu"
    assert seen == [(i, 4, torch.uint8) for i in range(1, 5)]
    assert torch.equal(first, annealed_langevin(energy, 3, 1, 4, step_size=1.0, noise=1.0))
    assert not torch.equal(first, annealed_langevin(energy, 3, 2, 4, step_size=1.0, noise=1.0))
    assert not torch.equal(first, annealed_langevin(energy, 3, 1, 4, step_size=1.0, noise=0.0))


def test_a_step_moves_down_the_energy_by_step_size_and_adds_noise_by_noise():
    energy = tiny_energy()
    with torch.inference_mode():  # as a handler runs it
        still = annealed_langevin(energy, 2, 5, 3, step_size=0.0, noise=0.0)
        moved = annealed_langevin(energy, 2, 5, 3, step_size=1.0, noise=0.0)
    assert not torch.equal(still, moved)  # only the gradient changed them
    deterministic = reverse_diffusion(EnergyNoisePredictor(energy), 2, 5, 3, eta=0.0)
    assert torch.equal(moved, deterministic)  # step_size 1, noise 0: the DDIM step on σ∇E
