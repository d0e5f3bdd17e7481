"""Are generated images copies of training images? Compare each sample's distance to its nearest
training image with the same distance for test images, which are certainly not copies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from training.run import save_grid


def copy_check(samples: torch.Tensor, train_images: torch.Tensor, test_images: torch.Tensor, figure: Path,
               count: int = 1000) -> dict[str, Any]:
    """Nearest-training-image distances of `count` samples and `count` test images (uint8), and a
    figure of the 8 samples nearest a training image (top row, nearest first) over those training
    images (bottom row)."""
    # The generators saw mirrored training images too: search those as well.
    references = torch.cat([train_images, train_images.flip(-1)])
    sample_distances, nearest = nearest_neighbours(samples[:count], references)
    test_distances, _ = nearest_neighbours(test_images[:count], references)
    nearest = nearest % len(train_images)
    # CIFAR-10's test set has near-duplicates of training images, so its very closest is no bar.
    bar = float(test_distances.quantile(0.01))
    closest = sample_distances.argsort()[:8]
    save_grid(torch.cat([samples[closest], train_images[nearest[closest]]]), figure, columns=8)
    return {
        "how": f"RMS pixel distance (0..255) from {len(sample_distances)} samples and {len(test_distances)} "
               f"test images to their nearest of the {len(train_images)} training images and their mirror "
               "images; the bar is the test images' 1st percentile",
        "samples_median": round(float(sample_distances.median()), 2),
        "samples_min": round(float(sample_distances.min()), 2),
        "test_images_median": round(float(test_distances.median()), 2),
        "test_images_min": round(float(test_distances.min()), 2),
        "test_images_1st_percentile": round(bar, 2),
        "samples_closer_than_the_bar": int((sample_distances < bar).sum()),
    }


def nearest_neighbours(queries: torch.Tensor, references: torch.Tensor, batch: int = 5000
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """(RMS pixel distance, index) of each query's nearest reference image; uint8 (N, 3, H, W) inputs."""
    q = queries.flatten(1).double()
    best = torch.full((len(q),), float("inf"), dtype=torch.float64)
    index = torch.zeros(len(q), dtype=torch.long)
    for start in range(0, len(references), batch):
        r = references[start:start + batch].flatten(1).double()
        squared = (q ** 2).sum(1, keepdim=True) - 2 * q @ r.T + (r ** 2).sum(1)
        value, where = squared.min(1)
        closer = value < best
        best[closer], index[closer] = value[closer], where[closer] + start
    return (best.clamp(min=0) / q.shape[1]).sqrt(), index
