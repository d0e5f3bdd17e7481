import pytest
import torch

from models.gan import ConditionalGenerator, Discriminator, Generator, ProjectionDiscriminator, sample_inputs


@pytest.mark.parametrize("networks", [(Generator, Discriminator), (ConditionalGenerator, ProjectionDiscriminator)])
def test_generators_make_28x28_images_in_range_and_discriminators_score_them(networks):
    G, D = (c().eval() for c in networks)
    z, digits = sample_inputs(5, 0, None, G.conditional)
    with torch.no_grad():
        images = G(z, digits)
        scores = D(images, digits)
    assert images.shape == (5, 1, 28, 28) and images.min() >= -1 and images.max() <= 1
    assert scores.shape == (5,)


def test_sample_inputs_are_seeded_and_cover_the_digits():
    z1, d1 = sample_inputs(20, 3, None, True)
    z2, d2 = sample_inputs(20, 3, None, True)
    assert torch.equal(z1, z2) and torch.equal(d1, d2)
    assert set(d1[:10].tolist()) == set(range(10))
    assert sample_inputs(4, 3, 7, True)[1].tolist() == [7, 7, 7, 7]
    assert sample_inputs(4, 3, None, False)[1] is None
    assert not torch.equal(sample_inputs(4, 4, None, False)[0], z1[:4])
