import json

import torch

from models.loader import load_network
from tests.helpers import make_tiny_cifar10
from training.cifar10 import augment, main


def test_augment_keeps_shape_and_flips_or_shifts():
    images = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8)
    augmented = augment(images, torch.Generator().manual_seed(0))
    assert augmented.shape == images.shape and augmented.dtype == torch.uint8
    assert not torch.equal(augmented, images)


def test_training_resumes_and_writes_weights_manifest_and_curve(tmp_path):
    make_tiny_cifar10(tmp_path / "data")
    common = ["--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "out"), "--checkpoint-dir",
              str(tmp_path / "ckpt"), "--version", "1.0", "--batch-size", "5", "--device", "cpu"]
    main([*common, "--epochs", "1"])
    first = json.loads((tmp_path / "out" / "cifar10-v1.0.json").read_text())
    main([*common, "--epochs", "2", "--resume"])
    manifest = json.loads((tmp_path / "out" / "cifar10-v1.0.json").read_text())
    checkpoint = torch.load(tmp_path / "ckpt" / "cifar10-v1.0.pt", weights_only=False)
    assert manifest["network"] == {"class": "models.cifar10.BaselineNet", "args": {}}
    assert checkpoint["progress"]["epoch"] == 2 and len(checkpoint["progress"]["history"]["test accuracy"]) == 2
    assert manifest["training"]["epochs"] == 2 and manifest["seconds"] >= first["seconds"]
    assert (tmp_path / "out" / "cifar10-v1.0-curve.png").exists()
    model, _ = load_network(tmp_path / "out" / "cifar10-v1.0.json")
    assert torch.equal(model.state_dict()["conv1.weight"], checkpoint["objects"]["model"]["conv1.weight"])
