"""The evaluation caches: made once, read back the same, never left half written."""

import numpy as np
import torch

from training.npz_cache import cached_features, cached_images


def test_images_are_generated_once_and_read_back_unchanged(tmp_path):
    calls = []

    def generate():
        calls.append(1)
        return torch.randint(0, 256, (5, 3, 4, 4), dtype=torch.uint8)

    path = tmp_path / "fid" / "samples" / "set-images.npz"
    first = cached_images(path, generate)
    again = cached_images(path, generate)
    assert len(calls) == 1 and again.dtype == torch.uint8 and torch.equal(first, again)
    assert [p.name for p in path.parent.iterdir()] == ["set-images.npz"]  # no partial file left


def test_features_are_computed_once(tmp_path):
    features = np.random.default_rng(0).normal(size=(3, 8))
    path = tmp_path / "features.npz"
    assert np.array_equal(cached_features(path, lambda: features), features)
    assert np.array_equal(cached_features(path, lambda: 1 / 0), features)
