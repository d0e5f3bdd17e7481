import torch

from models.seeds import Seeds


def test_each_group_draws_what_it_draws_alone():
    merged = Seeds([(3, 7), (1, 8), (2, torch.Generator().manual_seed(9))])
    assert len(merged) == 6 and merged.counts == [3, 1, 2]
    first, second = merged.randn(2, 4), merged.rand(5)
    for part, (count, seed) in zip(merged.split(first), [(3, 7), (1, 8), (2, 9)]):
        alone = Seeds.one(count, seed)
        assert torch.equal(part, alone.randn(2, 4))
    alone = [Seeds.one(3, 7), Seeds.one(1, 8), Seeds.one(2, 9)]
    for seeds in alone:
        seeds.randn(2, 4)
    assert torch.equal(second, torch.cat([seeds.rand(5) for seeds in alone]))


def test_one_group_draws_as_a_plain_seeded_generator():
    generator = torch.Generator().manual_seed(4)
    assert torch.equal(Seeds.one(3, 4).randn(3, 8, 8), torch.randn(3, 3, 8, 8, generator=generator))
