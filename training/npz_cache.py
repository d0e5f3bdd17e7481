"""Evaluation results that are slow to make (sample sets, Inception features), kept in .npz files
so that each is made once: an evaluation stopped part way, run again, resumes from the last set it
completed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch


def cached_features(path: Path, compute: Callable[[], np.ndarray]) -> np.ndarray:
    if path.exists():
        with np.load(path) as cached:
            return cached["features"]
    features = compute()
    save_npz(path, features=features)
    return features


def cached_images(path: Path, generate: Callable[[], torch.Tensor]) -> torch.Tensor:
    """uint8 images from `generate()`, kept in `path` (.npz) so that they are made only once."""
    if path.exists():
        with np.load(path) as cached:
            return torch.from_numpy(cached["images"])
    images = generate()
    save_npz(path, images=images.numpy())
    return images


def save_npz(path: Path, **arrays: np.ndarray) -> None:
    """Written atomically: a run stopped mid-write leaves no half file to be read as a cache."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as f:
        np.savez(f, **arrays)
    partial.replace(path)
