"""Tiny stand-ins for the data sets, made in the test, so no test needs ../shared/data."""

import numpy as np
from PIL import Image

from models.cifar10 import CLASSES


def make_tiny_cifar10(root, per_class=2):
    rng = np.random.default_rng(0)
    for split in ["train", "test"]:
        for label, name in enumerate(CLASSES):
            (root / "cifar10" / split / name).mkdir(parents=True)
            for i in range(per_class):
                pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
                pixels[..., label % 3] = 25 * label  # a class-dependent channel
                Image.fromarray(pixels).save(root / "cifar10" / split / name / f"{i:04d}.jpg")
