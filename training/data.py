"""Training and evaluation data as uint8 tensors, from the folder `make data` fills.

CIFAR-10 comes as JPEGs in `cifar10/{train,test}/<class>/NNNN.jpg` (class folders in the official
label order); they are decoded once and cached next to them. Where that folder is missing,
torchvision's official download is used instead. MNIST is read from `MNIST/raw/` by torchvision,
which checks the files' md5 and downloads them only if they are absent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from models.cifar10 import CLASSES


def load_cifar10(data_dir: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(images uint8 (N, 3, 32, 32), labels int64 (N,)) of the `train` or `test` split."""
    folder = Path(data_dir) / "cifar10" / split
    cache = cifar10_cache(data_dir, split)
    if cache.exists():
        data = torch.load(cache, weights_only=True)
        return data["images"], data["labels"]
    if folder.is_dir():
        images, labels = [], []
        for label, name in enumerate(CLASSES):
            for path in sorted((folder / name).glob("*.jpg")):
                images.append(np.asarray(Image.open(path).convert("RGB")))
                labels.append(label)
        images_t = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
        labels_t = torch.tensor(labels)
        save_cifar10(data_dir, split, images_t, labels_t)
        return images_t, labels_t
    from torchvision.datasets import CIFAR10

    dataset = CIFAR10(str(data_dir), train=split == "train", download=True)
    return (torch.from_numpy(dataset.data).permute(0, 3, 1, 2).contiguous(),
            torch.tensor(dataset.targets))


def cifar10_cache(data_dir: Path, split: str) -> Path:
    return Path(data_dir) / "cifar10" / f"{split}-uint8.pt"


def save_cifar10(data_dir: Path, split: str, images: torch.Tensor, labels: torch.Tensor) -> None:
    """Decoded images and labels of a split, where `load_cifar10` reads them before any JPEG."""
    cifar10_cache(data_dir, split).parent.mkdir(parents=True, exist_ok=True)
    torch.save({"images": images, "labels": labels}, cifar10_cache(data_dir, split))


def load_mnist(data_dir: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(images uint8 (N, 1, 28, 28), labels int64 (N,)) of the `train` or `test` split."""
    from torchvision.datasets import MNIST

    dataset = MNIST(str(data_dir), train=split == "train", download=True)
    return dataset.data.unsqueeze(1), dataset.targets
