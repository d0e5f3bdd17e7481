"""cifar10 3.0's recipe (training/cifar10_recipe.py): its parts pinned, and a whole run that resumes."""

import json

import pytest
import torch

from models.cifar10 import WhitenedNet
from models.loader import load_network
from tests.helpers import make_tiny_cifar10
from training import cifar10_recipe
from training.cifar10 import main


def test_the_whitening_filters_decorrelate_the_patches():
    torch.manual_seed(0)
    mixing = torch.randn(12, 12)
    images = (torch.randn(64, 12, 8, 8).permute(0, 2, 3, 1) @ mixing).permute(0, 3, 1, 2)[:, :3]
    filters = cifar10_recipe.whitening_filters(images, 2, eps=0.0)
    assert filters.shape == (24, 3, 2, 2) and torch.equal(filters[12:], -filters[:12])
    responses = torch.nn.functional.conv2d(images, filters[:12]).permute(0, 2, 3, 1).reshape(-1, 12)
    covariance = responses.T @ responses / len(responses)
    assert torch.allclose(covariance, torch.eye(12), atol=1e-3)


def test_the_whitening_sample_is_drawn_from_every_class_not_the_first_images():
    images = torch.arange(10).repeat_interleave(100).view(-1, 1, 1, 1).expand(-1, 3, 2, 2)  # stored class by class
    sample = cifar10_recipe.whitening_sample(images, torch.Generator().manual_seed(0), size=200)
    assert len(sample) == 200 and set(sample[:, 0, 0, 0].tolist()) == set(range(10))
    assert torch.equal(sample, cifar10_recipe.whitening_sample(images, torch.Generator().manual_seed(0), size=200))


def test_the_schedule_rises_to_its_peak_and_falls_to_its_end():
    schedule = cifar10_recipe.triangular_schedule(100)
    assert schedule[0] == pytest.approx(0.2) and schedule[23] == pytest.approx(1.0)
    assert schedule[100] == pytest.approx(0.07) and max(schedule) == pytest.approx(1.0)


def test_the_optimizer_steps_batchnorm_shifts_64_times_faster_and_leaves_fixed_weights_out():
    model = WhitenedNet()
    shifts, others = cifar10_recipe.optimizer_for(model, 1024).param_groups
    assert shifts["initial_lr"] == pytest.approx(64 * others["initial_lr"])
    assert others["initial_lr"] == pytest.approx(11.5 / (1 + 1 / 0.15))
    assert shifts["lr"] * shifts["weight_decay"] == pytest.approx(others["lr"] * others["weight_decay"])
    assert not any(p is model.whiten.weight for p in others["params"])
    assert any(p is model.whiten.bias for p in others["params"])


def test_the_lookahead_pulls_the_weights_to_their_average():
    model = torch.nn.Linear(2, 1)
    lookahead = cifar10_recipe.Lookahead(model)
    start = model.weight.detach().clone()
    with torch.no_grad():
        model.weight.add_(1.0)
    lookahead.pull(model, 0.75)
    assert torch.allclose(model.weight, start + 0.25)
    assert lookahead.decay(10, 10) == pytest.approx(0.95 ** 5) and lookahead.decay(0, 10) == 0


def test_translations_stay_within_two_pixels_and_flips_alternate():
    images = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).view(2, 3, 8, 8)
    shifted = cifar10_recipe.translated(images, torch.Generator().manual_seed(0))
    assert shifted.shape == images.shape
    base = cifar10_recipe.half_mirrored(images, torch.Generator().manual_seed(0))
    assert torch.equal(cifar10_recipe.epoch_images(base, 1), base.flip(-1))
    assert torch.equal(cifar10_recipe.epoch_images(base, 2), base)


def test_version_3_trains_resumes_and_serves_its_weights(tmp_path):
    make_tiny_cifar10(tmp_path / "data", per_class=4)
    common = ["--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "out"), "--checkpoint-dir",
              str(tmp_path / "ckpt"), "--version", "3.0", "--batch-size", "8", "--device", "cpu"]
    main([*common, "--epochs", "4"])
    checkpoint = torch.load(tmp_path / "ckpt" / "cifar10-v3.0.pt", weights_only=False)
    main([*common, "--epochs", "5", "--resume"])
    manifest = json.loads((tmp_path / "out" / "cifar10-v3.0.json").read_text())
    assert manifest["network"]["class"] == "models.cifar10.WhitenedNet" and manifest["training"]["epochs"] == 5
    assert "whiten" in manifest["training"]["recipe"]
    model, _ = load_network(tmp_path / "out" / "cifar10-v3.0.json")
    assert torch.equal(model.whiten.weight, checkpoint["objects"]["model"]["whiten.weight"])  # fixed after epoch 0
    assert not torch.equal(model.whiten.weight, torch.zeros_like(model.whiten.weight))
