"""The ebm and diffusion training scripts on tiny data: they run, resume and write what they promise."""

import argparse
import json

import pytest
import torch
from PIL import Image

from models.diffusion_sampler import reverse_diffusion
from models.loader import load_network
from tests.helpers import TINY_UNET_ARGS, make_tiny_cifar10, save_weights, tiny_unet
from training import diffusion, diffusion_conditional, ebm, ebm_denoising


def common(tmp_path):
    make_tiny_cifar10(tmp_path / "data")
    return ["--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "out"), "--checkpoint-dir",
            str(tmp_path / "ckpt"), "--batch-size", "8", "--device", "cpu"]


def test_diffusion_training_resumes_with_its_ema_and_writes_weights_curve_and_samples(tmp_path):
    args = [*common(tmp_path), "--widths", "8", "16", "24", "32"]
    diffusion.main([*args, "--epochs", "1"])
    first = torch.load(tmp_path / "ckpt" / "diffusion-v1.0.pt", weights_only=False)
    diffusion.main([*args, "--epochs", "2", "--resume"])
    checkpoint = torch.load(tmp_path / "ckpt" / "diffusion-v1.0.pt", weights_only=False)
    assert checkpoint["progress"]["epoch"] == 2 and len(checkpoint["progress"]["runs"]) == 2
    assert not torch.equal(first["objects"]["ema"]["stem.weight"], checkpoint["objects"]["ema"]["stem.weight"])
    assert checkpoint["objects"]["optimizer"]["state"]  # Adam's moments travel with the checkpoint
    manifest = json.loads((tmp_path / "out" / "diffusion-v1.0.json").read_text())
    assert manifest["training"]["epochs"] == 2 and manifest["network"]["args"]["widths"] == [8, 16, 24, 32]
    assert [run["first_epoch"] for run in manifest["training"]["runs"]] == [1, 2]
    unet, _ = load_network(tmp_path / "out" / "diffusion-v1.0.json")
    assert torch.equal(unet.stem.weight, checkpoint["objects"]["ema"]["stem.weight"])  # the EMA is served
    assert Image.open(tmp_path / "out" / "diffusion-v1.0-samples.png").size == (8 * 34 + 2, 8 * 34 + 2)
    assert (tmp_path / "out" / "diffusion-v1.0-curve.png").exists()


def test_ebm_2_training_starts_from_a_diffusion_unet_resumes_and_serves_its_ema(tmp_path):
    save_weights(tmp_path, "diffusion", "1.0", tiny_unet(), TINY_UNET_ARGS, reverse_diffusion)
    args = [*common(tmp_path), "--init", str(tmp_path / "diffusion-v1.0.json")]
    ebm_denoising.main([*args, "--epochs", "1"])
    ebm_denoising.main([*args, "--epochs", "2", "--resume"])
    checkpoint = torch.load(tmp_path / "ckpt" / "ebm-v2.0.pt", weights_only=False)
    assert checkpoint["progress"]["epoch"] == 2 and len(checkpoint["progress"]["runs"]) == 2
    manifest = json.loads((tmp_path / "out" / "ebm-v2.0.json").read_text())
    assert manifest["model"] == "ebm" and manifest["version"] == "2.0" and manifest["training"]["epochs"] == 2
    assert manifest["network"] == {"class": "models.noise_conditional_energy.NoiseConditionalEnergy",
                                   "args": TINY_UNET_ARGS}
    energy, _ = load_network(tmp_path / "out" / "ebm-v2.0.json")
    ema = checkpoint["objects"]["ema"]
    assert torch.equal(energy.unet.stem.weight, ema["energy.unet.stem.weight"])  # the EMA is served
    assert not torch.equal(energy.unet.stem.weight, tiny_unet().stem.weight)  # trained from the UNet's weights
    assert Image.open(tmp_path / "out" / "ebm-v2.0-samples.png").size == (8 * 34 + 2, 8 * 34 + 2)


def test_ebm_training_resumes_with_its_replay_buffer(tmp_path):
    args = common(tmp_path)
    ebm.main([*args, "--epochs", "1"])
    first = torch.load(tmp_path / "ckpt" / "ebm-v1.0.pt", weights_only=False)
    assert first["objects"]["buffer"]["images"].shape == (ebm.BUFFER_SIZE, 3, 32, 32)
    ebm.main([*args, "--epochs", "2", "--resume"])
    checkpoint = torch.load(tmp_path / "ckpt" / "ebm-v1.0.pt", weights_only=False)
    changed = (first["objects"]["buffer"]["images"] != checkpoint["objects"]["buffer"]["images"]).flatten(1).any(1)
    assert checkpoint["progress"]["epoch"] == 2 and 0 < changed.sum() <= 2 * 8 * 2  # two steps of 8 chains
    manifest = json.loads((tmp_path / "out" / "ebm-v1.0.json").read_text())
    assert manifest["training"]["epochs"] == 2
    assert manifest["network"] == {"class": "models.energy_net.EnergyNet", "args": {"width": 1}}
    load_network(tmp_path / "out" / "ebm-v1.0.json")
    assert set(manifest["metrics"]) == set() and (tmp_path / "out" / "ebm-v1.0-curve.png").exists()
    assert Image.open(tmp_path / "out" / "ebm-v1.0-samples.png").size == (8 * 34 + 2, 8 * 34 + 2)


def test_replay_buffer_draws_mostly_old_chains_and_stores_them_back():
    buffer = ebm.ReplayBuffer(100, torch.Generator().manual_seed(0))
    before = buffer.images.clone()
    start, slots = buffer.draw(1000)
    from_buffer = (start == before[slots]).flatten(1).all(1)
    assert 0.9 < from_buffer.float().mean() < 0.99  # about 5% fresh noise
    buffer.store(torch.zeros(3, 3, 32, 32), slots[:3])
    assert buffer.images[slots[:3]].eq(0).all()


def test_the_learning_rate_warms_up_holds_and_cools_down_to_zero():
    factors = [diffusion.learning_rate_factor(step, warmup_steps=4, cooldown_start=10, cooldown_steps=5)
               for step in range(16)]
    assert factors[:4] == [0.25, 0.5, 0.75, 1.0]
    assert factors[4:11] == [1.0] * 7
    assert factors[11:] == pytest.approx([0.8, 0.6, 0.4, 0.2, 0.0])
    assert diffusion.learning_rate_factor(10**6, 4, cooldown_start=10, cooldown_steps=0) == 1.0


def test_a_cooldown_longer_than_the_training_is_refused():
    with pytest.raises(SystemExit, match=r"--cooldown-epochs must be in 0\.\.--epochs \(4\), not 5"):
        diffusion.train_noise_predictor(argparse.Namespace(epochs=4), torch.nn.Linear(1, 1), torch.zeros(1),
                                        torch.Generator(), ("diffusion", "2.0", ""), 1e-4, 1, cooldown_epochs=5)


def test_a_resumed_training_ends_where_an_uninterrupted_one_does(tmp_path):
    make_tiny_cifar10(tmp_path / "data")

    def train(name, *extra):
        diffusion.main(["--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / name), "--checkpoint-dir",
                        str(tmp_path / name / "checkpoints"), "--batch-size", "8", "--device", "cpu",
                        "--widths", "8", "16", "24", "32", *extra])
        return torch.load(tmp_path / name / "diffusion-v1.0.pt", weights_only=True)

    train("split", "--epochs", "1")
    resumed = train("split", "--epochs", "2", "--resume")
    uninterrupted = train("whole", "--epochs", "2")
    assert resumed.keys() == uninterrupted.keys()
    assert all(torch.equal(resumed[name], uninterrupted[name]) for name in resumed)


def test_diffusion_2_training_starts_from_an_unconditional_unet_resumes_and_writes_its_class_grid(tmp_path):
    save_weights(tmp_path, "diffusion", "1.0", tiny_unet(), TINY_UNET_ARGS, reverse_diffusion)
    args = [*common(tmp_path), "--init", str(tmp_path / "diffusion-v1.0.json"), "--kid-every", "0",
            "--cooldown-epochs", "1"]
    diffusion_conditional.main([*args, "--epochs", "1", "--cooldown-epochs", "0"])
    checkpoint = torch.load(tmp_path / "ckpt" / "diffusion-v2.0.pt", weights_only=False)
    assert checkpoint["objects"]["optimizer"]["param_groups"][0]["lr"] > 0
    diffusion_conditional.main([*args, "--epochs", "2", "--resume"])
    checkpoint = torch.load(tmp_path / "ckpt" / "diffusion-v2.0.pt", weights_only=False)
    assert checkpoint["progress"]["epoch"] == 2 and len(checkpoint["progress"]["runs"]) == 2
    assert checkpoint["objects"]["optimizer"]["param_groups"][0]["lr"] == 0  # the cooldown ended at zero
    manifest = json.loads((tmp_path / "out" / "diffusion-v2.0.json").read_text())
    assert manifest["network"]["args"] == {**TINY_UNET_ARGS, "num_classes": 10, "attention_at": 8}
    assert manifest["training"]["initialised_from"]["file"] == "diffusion-v1.0.json"
    unet, _ = load_network(tmp_path / "out" / "diffusion-v2.0.json")
    assert torch.equal(unet.stem.weight, checkpoint["objects"]["ema"]["stem.weight"])  # the EMA is served
    assert unet.class_embedding.weight.abs().sum() > 0  # the classes were learnt from their zero start
    assert Image.open(tmp_path / "out" / "diffusion-v2.0-samples.png").size == (8 * 34 + 2, 10 * 34 + 2)
