import torch

from models.cifar10 import preprocess
from models.images import denormalize, normalize, standardize, to_uint8, to_unit_range


def test_unit_range_round_trips_every_uint8_value_and_clips():
    images = torch.arange(256, dtype=torch.uint8)
    assert torch.equal(to_uint8(to_unit_range(images)), images)
    assert to_uint8(torch.tensor([-1.5, -1.0, 0.0, 1.0])).tolist() == [0, 0, 128, 255]


def test_normalize_round_trips_every_uint8_value_and_clips():
    images = torch.arange(256, dtype=torch.uint8).repeat(3, 1).view(1, 3, 16, 16)
    assert torch.equal(denormalize(normalize(images)), images)
    assert denormalize(torch.full((1, 3, 2, 2), 100.0)).eq(255).all()


def test_the_classifier_and_the_diffusion_model_standardise_alike():
    images = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    assert torch.equal(preprocess(images, 32), normalize(images))
    white = standardize(torch.ones(1, 3, 1, 1)).flatten()
    assert torch.allclose(white, torch.tensor([(1 - 0.4914) / 0.2470, (1 - 0.4822) / 0.2435, (1 - 0.4465) / 0.2616]))
