import json
import struct

import numpy as np
import torch

from models.loader import load_network
from training.data import load_mnist
from training.gan import main, update_ema


def write_idx_mnist(root, count=256):
    """Tiny MNIST in the official (uncompressed) idx format, where torchvision looks for it."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in [("train", count), ("t10k", 64)]:
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 2051, n, 28, 28) + images.tobytes())
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 2049, n) + labels.tobytes())


def test_ema_moves_towards_the_model():
    model, ema = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    before = ema.weight.detach().clone()
    update_ema(ema, model, decay=0.9)
    assert torch.allclose(ema.weight, 0.9 * before + 0.1 * model.weight)


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
