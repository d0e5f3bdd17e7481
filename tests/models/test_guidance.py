"""The class-conditional UNet (models/unet.py) and classifier-free guidance (models/guidance.py)."""

import pytest
import torch

from models.diffusion_sampler import make_scheduler, reverse_diffusion
from models.diffusion_schedule import log_snr
from models.guidance import GUIDED_LOG_SNR, guided_noise, guided_steps
from models.seeds import Seeds
from models.unet import UNet
from tests.helpers import TINY_UNET_ARGS, tiny_unet


def conditional_from(unconditional: UNet) -> UNet:
    network = UNet(**TINY_UNET_ARGS, num_classes=10, attention_at=8)
    network.load_state_dict(unconditional.state_dict(), strict=False)
    return network.eval()


def test_a_conditional_unet_starts_as_the_unconditional_one_it_is_loaded_from():
    unconditional = tiny_unet().eval()
    conditional = conditional_from(unconditional)
    assert len(conditional.down_attention) == len(conditional.up_attention) == 1  # one block at 8x8 each way
    x, variance = torch.randn(3, 3, 32, 32), torch.rand(3)
    with torch.no_grad():
        expected = unconditional(x, variance)
        assert torch.allclose(conditional(x, variance, torch.tensor([0, 5, 10])), expected, atol=1e-6)
        assert torch.allclose(conditional(x, variance), expected, atol=1e-6)  # no labels: "no class"


def test_guidance_moves_the_prediction_away_from_the_unconditional_one():
    network = conditional_from(tiny_unet())
    with torch.no_grad():
        torch.nn.init.normal_(network.class_embedding.weight)
        x, variance, labels = torch.randn(2, 3, 32, 32), torch.rand(2), torch.tensor([3, 7])
        conditional = network(x, variance, labels)
        unconditional = network(x, variance, torch.full((2,), 10))
        assert not torch.allclose(conditional, unconditional)
        assert torch.allclose(guided_noise(network, x, variance, labels, 0.0), conditional, atol=1e-5)
        assert torch.allclose(guided_noise(network, x, variance, labels, 2.0),
                              conditional + 2.0 * (conditional - unconditional), atol=1e-4)
        assert torch.allclose(guided_noise(network, x, variance, None, 2.0), unconditional, atol=1e-5)


def test_an_unconditional_unet_takes_no_class():
    with pytest.raises(ValueError, match="no class"):
        tiny_unet()(torch.randn(1, 3, 32, 32), torch.rand(1), torch.tensor([1]))


def test_guidance_applies_at_the_middle_noise_levels_only():
    network = conditional_from(tiny_unet())
    calls = []  # (batch size, log-SNR) of each network call
    network.register_forward_hook(lambda module, inputs, output: calls.append(
        (len(inputs[0]), torch.log((1 - inputs[1][0]) / inputs[1][0]).item() / 2)))
    scheduler = make_scheduler("dpmpp_2m", 0.0)
    scheduler.set_timesteps(10)
    assert guided_steps(scheduler.timesteps) == 5  # the served steps: half guided
    reverse_diffusion(network, Seeds.one(2, 0), 10, sampler="dpmpp_2m", eta=0.0, labels=torch.tensor([1, 2]),
                      guidance=2.0)
    low, high = GUIDED_LOG_SNR
    assert [size for size, _ in calls] == [4 if low < snr <= high else 2 for _, snr in calls]
    assert torch.allclose(torch.tensor([snr for _, snr in calls]), log_snr(scheduler.timesteps).float(), atol=1e-3)
    assert sum(size == 4 for size, _ in calls) == 5
