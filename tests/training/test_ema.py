import torch

from training.ema import update_ema


def test_ema_moves_a_fraction_towards_the_model_and_copies_buffers():
    model, ema = torch.nn.BatchNorm1d(2), torch.nn.BatchNorm1d(2)
    with torch.no_grad():
        model.weight.fill_(3.0)
        ema.weight.fill_(1.0)
        model.running_mean.fill_(7.0)
    update_ema(ema, model, decay=0.9)
    assert torch.allclose(ema.weight, torch.full((2,), 1.2))  # 0.9 * 1 + 0.1 * 3
    assert torch.equal(ema.running_mean, model.running_mean)
    update_ema(ema, model, decay=0.0)
    assert torch.equal(ema.weight, model.weight)


def test_decay_warms_up_to_its_ceiling():
    from training.ema import warmed_up_decay

    assert warmed_up_decay(0, 0.999) == 0.1
    assert warmed_up_decay(90, 0.999) == 0.91
    assert warmed_up_decay(100_000, 0.999) == 0.999
