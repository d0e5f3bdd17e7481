import math

import pytest
import torch

from models.annealed_langevin import annealed_langevin
from models.diffusion_sampler import reverse_diffusion
from models.diffusion_schedule import DDIMScheduler, offset_cosine_schedule
from models.noise_conditional_energy import EnergyNoisePredictor
from models.seeds import Seeds
from tests.helpers import tiny_energy


def test_chains_are_seeded_uint8_and_report_every_step():
    energy = tiny_energy()
    seen = []
    first = annealed_langevin(energy, Seeds.one(3, 1), 4, lambda i, n, x: seen.append((i, n, x.dtype)),
                              sampler="ddim", step_size=1.0, noise=1.0)
    assert first.shape == (3, 3, 32, 32) and first.dtype == torch.uint8 and first.device.type == "cpu"
    assert seen == [(i, 4, torch.uint8) for i in range(1, 5)]
    assert torch.equal(first, annealed_langevin(energy, Seeds.one(3, 1), 4, sampler="ddim", step_size=1.0, noise=1.0))
    for seed, noise in [(2, 1.0), (1, 0.0)]:
        assert not torch.equal(first, annealed_langevin(energy, Seeds.one(3, seed), 4, sampler="ddim", step_size=1.0,
                                                        noise=noise))


def test_a_step_moves_down_the_energy_gradient_by_step_size_and_adds_noise_by_noise(float64):
    """One step as the docstring writes it, x' = (a'/a) x - step_size c σ ∇E + noise s z, with ∇E
    by finite differences."""
    energy = tiny_energy().double()
    x, step_size = torch.randn(1, 3, 32, 32), 0.7
    (a, sigma), (a_next, sigma_next) = (tuple(r.item() for r in offset_cosine_schedule(torch.tensor(t)))
                                        for t in (1.0, 0.5))
    variance = torch.tensor([sigma ** 2])
    scheduler = DDIMScheduler(eta=0.0)
    scheduler.set_timesteps(2)  # levels t = 1, then 0.5
    moved, _ = scheduler.step(EnergyNoisePredictor(energy, scale=step_size)(x, variance), 0, x)
    c = a_next / a * sigma - sigma_next  # with noise 0, s = 0
    h, index = 1e-6, (0, 1, 9, 20)
    bump = torch.zeros_like(x)
    bump[index] = h
    gradient = (energy(x + bump, variance) - energy(x - bump, variance)).item() / (2 * h)
    assert (moved - a_next / a * x)[index].item() == pytest.approx(-step_size * c * sigma * gradient, rel=1e-5)

    scheduler = DDIMScheduler(eta=1.0)
    scheduler.set_timesteps(2)
    noisy, _ = scheduler.step(EnergyNoisePredictor(energy)(x, variance), 0, x, Seeds.one(len(x), 3))
    s = sigma_next / sigma * math.sqrt(1 - (a / a_next) ** 2)  # the ancestral step's noise
    z = torch.randn(x.shape, generator=torch.Generator().manual_seed(3))
    eps = EnergyNoisePredictor(energy)(x, variance)
    expected = a_next / a * x - (a_next / a * sigma - math.sqrt(sigma_next ** 2 - s ** 2)) * eps + s * z
    assert torch.allclose(noisy, expected, atol=1e-10)


def test_the_handler_path_runs_in_inference_mode():
    energy = tiny_energy()
    with torch.inference_mode():
        still = annealed_langevin(energy, Seeds.one(2, 5), 3, sampler="ddim", step_size=0.0, noise=0.0)
        moved = annealed_langevin(energy, Seeds.one(2, 5), 3, sampler="ddim", step_size=1.0, noise=0.0)
    assert not torch.equal(still, moved)  # the energy's gradient moved them


def test_the_second_order_chain_is_dpm_solver_on_the_energys_noise_estimate():
    energy = tiny_energy()
    chain = annealed_langevin(energy, Seeds.one(2, 4), 5, sampler="dpmpp_2m", step_size=1.0, noise=0.0)
    assert torch.equal(chain, reverse_diffusion(EnergyNoisePredictor(energy), Seeds.one(2, 4), 5, sampler="dpmpp_2m",
                                                eta=0.0))
    assert not torch.equal(chain, annealed_langevin(energy, Seeds.one(2, 4), 5, sampler="ddim", step_size=1.0,
                                                    noise=0.0))
    with pytest.raises(ValueError, match="'eta' is 0.5; it applies to the ddim sampler only"):
        annealed_langevin(energy, Seeds.one(2, 4), 5, sampler="dpmpp_2m", step_size=1.0, noise=0.5)
