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
    figure of 8 samples (top row) over their nearest training images (bottom row)."""
    sample_distances, nearest = nearest_neighbours(samples[:count], train_images)
    test_distances, _ = nearest_neighbours(test_images[:count], train_images)
    save_grid(torch.cat([samples[:8], train_images[nearest[:8]]]), figure, columns=8)
    return {
        "how": f"RMS pixel distance (0..255) from {len(sample_distances)} samples and {len(test_distances)} "
               f"test images to their nearest of the {len(train_images)} training images",
        "samples_median": round(float(sample_distances.median()), 2),
        "samples_min": round(float(sample_distances.min()), 2),
        "test_images_median": round(float(test_distances.median()), 2),
        "test_images_min": round(float(test_distances.min()), 2),
        "samples_closer_than_closest_test_image": int((sample_distances < test_distances.min()).sum()),
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
