import pytest
import torch

from models.energy_net import EnergyNet
from models.images import to_uint8
from models.langevin import gradient_move, langevin_sample, sample_from_noise
from models.seeds import Seeds


def quadratic_energy(target: float):
    return lambda x: ((x - target) ** 2).flatten(1).sum(1) / 2


def test_energy_net_gives_one_energy_per_image():
    for width in (1, 2):
        assert EnergyNet(width)(torch.zeros(5, 3, 32, 32)).shape == (5,)


def test_spectral_norm_bounds_every_layer():
    energy = EnergyNet(spectral_norm=True)
    for _ in range(20):  # power iterations run in training mode
        energy(torch.rand(2, 3, 32, 32))
    linear = energy.head[2]
    assert torch.linalg.matrix_norm(linear.weight, ord=2).item() == pytest.approx(1.0, abs=1e-3)
    assert energy(torch.zeros(5, 3, 32, 32)).shape == (5,)


def initial_noise(n, seed):
    return torch.rand(n, 3, 32, 32, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_chains_from_noise_start_uniform_and_are_seeded():
    energy = EnergyNet()
    noise = sample_from_noise(energy, Seeds.one(4, 3), steps=0, step_size=10.0, noise=0.01)
    assert torch.equal(noise, to_uint8(initial_noise(4, 3))) and noise.device.type == "cpu"
    chains = [sample_from_noise(energy, Seeds.one(4, seed), steps=3, step_size=10.0, noise=0.01) for seed in (3, 3, 4)]
    assert torch.equal(chains[0], chains[1]) and not torch.equal(chains[0], chains[2])
    previews = []
    last = sample_from_noise(energy, Seeds.one(4, 3), 3, lambda i, n, x: previews.append(x), step_size=10.0, noise=0.01)
    assert len(previews) == 3 and previews[-1].dtype == torch.uint8 and torch.equal(previews[-1], last)


@pytest.mark.parametrize("mode", [torch.no_grad, torch.inference_mode])
def test_steps_descend_the_energy_even_where_gradients_are_off(mode):
    start = initial_noise(2, seed=0)
    with mode():
        images = langevin_sample(quadratic_energy(0.25), start, steps=100, step_size=1.0, noise=0.0)
    # the gradient x - 0.25 is clipped to 0.03: 42 steps of 0.03 cover the start's distance, and
    # within 0.03 of the minimum one step lands on it
    assert torch.allclose(images, torch.full_like(images, 0.25), atol=1e-5)
    assert not images.requires_grad and torch.equal(start, initial_noise(2, seed=0))
    assert not images.is_inference()  # usable in autograd afterwards


def test_gradient_is_clipped_and_images_stay_in_range():
    start = torch.zeros(1, 3, 4, 4)
    one_step = langevin_sample(quadratic_energy(5.0), start, steps=1, step_size=10.0, noise=0.0)
    assert torch.allclose(one_step, torch.full_like(one_step, 0.3))
    many = langevin_sample(quadratic_energy(5.0), start, steps=10, step_size=10.0, noise=0.0)
    assert many.max() == 1.0


def test_gradient_move_is_the_clipped_move_down_the_energy():
    images = torch.tensor([[0.24, 0.0, 0.5]])
    with torch.inference_mode():
        move = gradient_move(quadratic_energy(0.25), images, step_size=10.0)
    assert torch.allclose(move, torch.tensor([[-0.1, -0.3, 0.3]]))
    assert torch.equal(images, torch.tensor([[0.24, 0.0, 0.5]]))


def test_noise_is_seeded_and_steps_are_reported():
    energy = EnergyNet()
    seen = []
    run = [langevin_sample(energy, initial_noise(2, 0), 3, 10.0, 0.01, Seeds.one(2, s),
                           on_step=lambda i, n, x: seen.append((i, n))) for s in (1, 1, 2)]
    assert torch.equal(run[0], run[1]) and not torch.equal(run[0], run[2])
    assert seen[:3] == [(1, 3), (2, 3), (3, 3)]
