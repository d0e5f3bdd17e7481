import torch

from models.unet import UNet, sinusoidal_embedding


def test_embedding_is_bounded_and_tells_noise_levels_apart():
    embedding = sinusoidal_embedding(torch.tensor([0.0, 0.01, 0.5, 1.0]), 32)
    assert embedding.shape == (4, 32) and embedding.abs().max() <= 1.0
    assert torch.cdist(embedding, embedding)[~torch.eye(4, dtype=torch.bool)].min() > 0.1


def test_unet_predicts_noise_of_the_image_shape_and_starts_at_zero():
    torch.manual_seed(0)
    model = UNet(widths=(8, 16, 24, 32), block_depth=2, embedding_dim=16, groups=4)
    images, variance = torch.randn(3, 3, 32, 32), torch.rand(3)
    out = model(images, variance)
    assert out.shape == images.shape
    assert torch.count_nonzero(out) == 0  # zero-initialised last layer
    torch.nn.init.normal_(model.head[-1].weight)
    assert not torch.allclose(model(images, variance), model(images, variance.flip(0)))


def test_default_unet_has_the_original_widths():
    model = UNet()
    assert [block.conv1.out_channels for block in model.down[::2]] == [32, 64, 96]
    assert model.middle[0].conv1.out_channels == 128
    assert 1_000_000 < sum(p.numel() for p in model.parameters()) < 5_000_000
