import torch

from models.diffusion_sampler import reverse_diffusion
from models.seeds import Seeds
from tests.helpers import tiny_unet


def test_reverse_diffusion_is_seeded_and_reports_each_step_as_uint8():
    model = tiny_unet()
    steps_seen = []
    first = reverse_diffusion(model, Seeds.one(3, 1), 5, sampler="ddim", eta=0.0,
                              on_step=lambda i, n, x: steps_seen.append((i, n, x.shape, x.dtype)))
    assert first.shape == (3, 3, 32, 32) and first.dtype == torch.uint8 and first.device.type == "cpu"
    assert steps_seen == [(i, 5, (3, 3, 32, 32), torch.uint8) for i in range(1, 6)]
    assert torch.equal(first, reverse_diffusion(model, Seeds.one(3, 1), 5, sampler="ddim", eta=0.0))
    assert not torch.equal(first, reverse_diffusion(model, Seeds.one(3, 2), 5, sampler="ddim", eta=0.0))
    assert not torch.equal(first, reverse_diffusion(model, Seeds.one(3, 1), 5, sampler="ddim", eta=1.0))


def test_the_last_preview_is_the_result():
    previews = []
    result = reverse_diffusion(tiny_unet(), Seeds.one(2, 7), 4, sampler="ddim", eta=0.0,
                               on_step=lambda i, n, x: previews.append(x))
    assert torch.equal(previews[-1], result) and not torch.equal(previews[0], result)
    assert previews[0].dtype == torch.uint8
