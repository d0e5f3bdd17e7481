import json

import torch

from models.loader import load_network
from tests.helpers import write_idx_mnist
from training.data import load_mnist
from training.gan import main


def test_gan_training_resumes_and_writes_generator_samples_and_manifest(tmp_path):
    write_idx_mnist(tmp_path / "data")
    assert load_mnist(tmp_path / "data", "train")[0].shape == (256, 1, 28, 28)
    common = ["--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "out"),
              "--checkpoint-dir", str(tmp_path / "ckpt"), "--device", "cpu", "--version", "2.0"]
    main([*common, "--epochs", "1"])
    main([*common, "--epochs", "2", "--resume"])
    manifest = json.loads((tmp_path / "out" / "gan-v2.0.json").read_text())
    assert manifest["training"]["epochs"] == 2 and manifest["training"]["ema_decay"] == 0.999
    checkpoint = torch.load(tmp_path / "ckpt" / "gan-v2.0.pt", weights_only=False)
    assert checkpoint["progress"]["epoch"] == 2 and "ema" in checkpoint["objects"]
    for name in ["gan-v2.0-samples.png", "gan-v2.0-curve.png"]:
        assert (tmp_path / "out" / name).exists()
    generator, _ = load_network(tmp_path / "out" / "gan-v2.0.json")
    assert generator.conditional  # the EMA of the class-conditional generator is served
