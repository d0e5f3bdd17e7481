import torch

from models.diffusion_sampler import add_noise, denormalize, normalize, reverse_diffusion
from models.unet import UNet, UNetConfig


def tiny_unet():
    torch.manual_seed(0)
    model = UNet(UNetConfig(widths=(8, 16, 24, 32), block_depth=1, embedding_dim=16, groups=4))
    torch.nn.init.normal_(model.head[-1].weight, std=0.1)
    return model.eval()


def test_normalize_round_trips_every_uint8_value():
    images = torch.arange(256, dtype=torch.uint8).repeat(3, 1).view(1, 3, 16, 16)
    assert torch.equal(denormalize(normalize(images)), images)
    assert denormalize(torch.full((1, 3, 2, 2), 100.0)).eq(255).all()


def test_add_noise_mixes_by_the_schedule():
    images, noise = torch.ones(2, 3, 4, 4), torch.zeros(2, 3, 4, 4)
    noisy, variance = add_noise(images, noise, torch.tensor([0.0, 1.0]))
    assert torch.allclose(noisy[0], torch.full((3, 4, 4), 0.95))
    assert torch.allclose(noisy[1], torch.full((3, 4, 4), 0.02))
    assert torch.allclose(variance, 1 - torch.tensor([0.95, 0.02]) ** 2)


def test_reverse_diffusion_is_seeded_and_reports_each_step():
    model = tiny_unet()
    steps_seen = []
    first = reverse_diffusion(model, 3, 5, seed=1, on_step=lambda i, n, x: steps_seen.append((i, n, x.shape)))
    assert first.shape == (3, 3, 32, 32) and first.dtype == torch.uint8
    assert steps_seen == [(i, 5, (3, 3, 32, 32)) for i in range(1, 6)]
    assert torch.equal(first, reverse_diffusion(model, 3, 5, seed=1))
    assert not torch.equal(first, reverse_diffusion(model, 3, 5, seed=2))
    assert not torch.equal(first, reverse_diffusion(model, 3, 5, seed=1, eta=1.0))
