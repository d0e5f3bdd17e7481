import math

import pytest
import torch

from models.diffusion_schedule import (
    MAX_SIGNAL_RATE,
    MIN_SIGNAL_RATE,
    DDIMScheduler,
    add_noise,
    log_snr,
    offset_cosine_schedule,
    time_of_log_snr,
)
from models.seeds import Seeds


def test_schedule_ends_at_the_offset_rates_and_keeps_unit_power():
    signal, noise = offset_cosine_schedule(torch.tensor([0.0, 1.0], dtype=torch.float64))
    assert signal.tolist() == pytest.approx([MAX_SIGNAL_RATE, MIN_SIGNAL_RATE], abs=1e-12)
    assert noise.tolist() == pytest.approx([math.sqrt(1 - 0.95 ** 2), math.sqrt(1 - 0.02 ** 2)], abs=1e-12)
    signal, noise = offset_cosine_schedule(torch.linspace(0, 1, 101, dtype=torch.float64))
    assert torch.allclose(signal ** 2 + noise ** 2, torch.ones(101, dtype=torch.float64))


def test_schedule_is_monotonic():
    signal, noise = offset_cosine_schedule(torch.linspace(0, 1, 1001))
    assert (signal.diff() < 0).all() and (noise.diff() > 0).all()


def test_timesteps_are_exact_for_a_step_count():
    scheduler = DDIMScheduler()
    scheduler.set_timesteps(4)
    assert scheduler.timesteps.tolist() == [1.0, 0.75, 0.5, 0.25]
    scheduler.set_timesteps(1)
    assert scheduler.timesteps.tolist() == [1.0]
    with pytest.raises(ValueError):
        scheduler.set_timesteps(0)
    with pytest.raises(ValueError):
        DDIMScheduler(eta=1.5)


def oracle_loop(scheduler, steps, clean, noise):
    """Reverse diffusion with a network that always predicts the true noise."""
    scheduler.set_timesteps(steps)
    signal, noise_rate = offset_cosine_schedule(torch.tensor(1.0, dtype=torch.float64))
    images = signal.item() * clean + noise_rate.item() * noise
    for index in range(steps):
        images, predicted = scheduler.step(noise, index, images)
    return images, predicted


@pytest.mark.parametrize("steps", [1, 10, 50])
def test_deterministic_ddim_with_a_perfect_noise_prediction_recovers_the_image(steps):
    generator = torch.Generator().manual_seed(0)
    clean = torch.randn(2, 3, 8, 8, generator=generator, dtype=torch.float64)
    noise = torch.randn(2, 3, 8, 8, generator=generator, dtype=torch.float64)
    images, predicted = oracle_loop(DDIMScheduler(eta=0.0), steps, clean, noise)
    assert torch.allclose(images, clean, atol=1e-9) and torch.allclose(predicted, clean, atol=1e-9)


def test_stochastic_ddim_adds_seeded_noise():
    noise = torch.randn(1, 3, 4, 4, generator=torch.Generator().manual_seed(1))
    scheduler = DDIMScheduler(eta=1.0)
    scheduler.set_timesteps(5)
    first = scheduler.step(noise, 0, noise, Seeds.one(1, 7))[0]
    again = scheduler.step(noise, 0, noise, Seeds.one(1, 7))[0]
    other = scheduler.step(noise, 0, noise, Seeds.one(1, 8))[0]
    deterministic = DDIMScheduler(eta=0.0)
    deterministic.set_timesteps(5)
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert not torch.allclose(first, deterministic.step(noise, 0, noise)[0])


def test_log_snr_falls_from_t_0_to_1_and_time_of_log_snr_inverts_it():
    t = torch.linspace(0, 1, 11, dtype=torch.float64)
    lambdas = log_snr(t)
    assert lambdas[0].item() == pytest.approx(math.log(0.95 / math.sqrt(1 - 0.95 ** 2)))
    assert lambdas[-1].item() == pytest.approx(math.log(0.02 / math.sqrt(1 - 0.02 ** 2)))
    assert all(a > b for a, b in zip(lambdas, lambdas[1:]))
    assert torch.allclose(time_of_log_snr(lambdas), t, atol=1e-12)


def test_add_noise_mixes_by_the_schedule():
    images, noise = torch.ones(2, 3, 4, 4), torch.zeros(2, 3, 4, 4)
    noisy, variance = add_noise(images, noise, torch.tensor([0.0, 1.0]))
    assert torch.allclose(noisy[0], torch.full((3, 4, 4), 0.95))
    assert torch.allclose(noisy[1], torch.full((3, 4, 4), 0.02))
    assert torch.allclose(variance, 1 - torch.tensor([0.95, 0.02]) ** 2)
