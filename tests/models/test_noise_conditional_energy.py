import pytest
import torch
from torch import nn

from models.noise_conditional_energy import EnergyNoisePredictor, NoiseConditionalEnergy, predicted_noise
from tests.helpers import tiny_energy
from training.diffusion import diffusion_loss


def test_the_energy_is_one_number_per_image():
    energy = tiny_energy()
    assert energy(torch.randn(5, 3, 32, 32), torch.rand(5) + 0.01).shape == (5,)


def test_the_predicted_noise_is_sigma_times_the_energy_gradient_by_finite_differences(float64):
    energy = tiny_energy().double()
    x, variance = torch.randn(1, 3, 32, 32), torch.tensor([0.3])
    noise = predicted_noise(energy, x, variance)
    h = 1e-6
    for index in [(0, 0, 0, 0), (0, 1, 17, 5), (0, 2, 31, 31)]:
        step = torch.zeros_like(x)
        step[index] = h
        slope = (energy(x + step, variance) - energy(x - step, variance)).item() / (2 * h)
        assert noise[index].item() == pytest.approx(variance.sqrt().item() * slope, rel=1e-5)


class Doubling(nn.Module):
    def forward(self, images, noise_variance):
        return 2 * images


def test_a_linear_symmetric_g_is_its_own_noise_prediction():
    energy = NoiseConditionalEnergy(widths=(8, 16, 24, 32), block_depth=1, embedding_dim=16, groups=4)
    energy.unet = Doubling()  # g(x) = 2x
    x, variance = torch.randn(2, 3, 8, 8), torch.tensor([0.5, 0.01])
    assert torch.allclose(predicted_noise(energy, x, variance), 2 * x, atol=1e-5)


def test_gradients_flow_in_inference_mode_and_only_training_builds_a_graph():
    energy = tiny_energy()
    with torch.inference_mode():  # the inputs too, as a handler's are
        x, variance = torch.randn(2, 3, 32, 32), torch.full((2,), 0.5)
        served = EnergyNoisePredictor(energy, scale=2.0)(x, variance)
    assert not served.requires_grad and served.abs().sum() > 0
    assert torch.allclose(served, 2 * predicted_noise(energy, x.clone(), variance.clone()))
    training = EnergyNoisePredictor(energy.requires_grad_(True), create_graph=True)
    assert training(x.clone(), variance.clone()).requires_grad


def test_denoising_score_matching_steps_lower_the_loss_on_a_tiny_batch():
    torch.manual_seed(0)
    model = EnergyNoisePredictor(tiny_energy().requires_grad_(True), create_graph=True)
    images = torch.randn(4, 3, 16, 16)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def loss() -> torch.Tensor:
        return diffusion_loss(model, images, torch.Generator().manual_seed(1))  # the same noise every time

    first = loss().item()
    for _ in range(3):
        optimizer.zero_grad()
        loss().backward()
        optimizer.step()
    assert loss().item() < first

