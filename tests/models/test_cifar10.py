import pytest
import torch

from models.cifar10 import BaselineNet, ResidualNet, WhitenedNet, preprocess
from models.images import CIFAR10_MEAN, CIFAR10_STD


def test_preprocess_resizes_any_size_and_normalises():
    images = torch.randint(0, 256, (2, 3, 47, 13), dtype=torch.uint8)
    x = preprocess(images, 32)
    assert x.shape == (2, 3, 32, 32) and x.dtype == torch.float32
    flat = preprocess(torch.full((1, 3, 32, 32), 128, dtype=torch.uint8), 32)
    expected = [(128 / 255 - m) / s for m, s in zip(CIFAR10_MEAN, CIFAR10_STD)]
    assert torch.allclose(flat[0, :, 5, 5], torch.tensor(expected))


@pytest.mark.parametrize("network", [BaselineNet, ResidualNet, WhitenedNet])
def test_networks_give_ten_logits_at_their_input_size(network):
    model = network().eval()
    with torch.no_grad():
        logits = model(preprocess(torch.zeros(3, 3, 32, 32, dtype=torch.uint8), model.input_size))
    assert logits.shape == (3, 10) and torch.isfinite(logits).all()


def test_baseline_is_the_original_course_network():
    model = BaselineNet()
    assert model.input_size == 64
    assert model.fc1.in_features == 8192 and model.fc1.out_features == 100
    assert [model.conv1.out_channels, model.conv2.out_channels] == [16, 32]


@pytest.mark.parametrize("network", [ResidualNet, WhitenedNet])
def test_versions_2_and_3_average_an_image_and_its_mirror_when_served(network):
    torch.manual_seed(0)
    model = network()
    x = torch.randn(2, 3, 32, 32)
    model.eval()
    assert torch.allclose(model(x), model(x.flip(-1)), atol=1e-5)
    assert torch.allclose(model(x), (model.logits(x) + model.logits(x.flip(-1))) / 2)
    model.train()
    assert model(x).shape == (2, 10)


def test_version_3_starts_its_convolutions_as_the_identity_and_learns_no_batchnorm_scale():
    model = WhitenedNet()
    conv = model.groups[1].conv1
    assert torch.equal(conv.weight[:64, :, 1, 1], torch.eye(64)) and conv.weight[64:].abs().sum() > 0
    assert not model.groups[0].norm1.weight.requires_grad and model.groups[0].norm1.bias.requires_grad
    assert not model.whiten.weight.requires_grad and model.whiten.out_channels == 24
