"""What every evaluation script shares: its arguments and writing each figure into the manifest."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from models.catalog import model_versions
from models.manifest import read_manifest, write_manifest

SAMPLES_PER_SEED = 100  # a generator's evaluation samples are drawn 100 per seed, seeds 0, 1, 2, ...


def evaluation_arguments(description: str, model: str | None = None) -> argparse.ArgumentParser:
    """--data-dir, --weights-dir, --device (default: cpu) and, for a `model`, --version: one of its
    versions in the catalog (default: its default one)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--weights-dir", type=Path, default=Path("weights"))
    # The CPU unless asked: the figures in the manifests were measured there (a GPU's TF32 convolutions differ).
    parser.add_argument("--device", default="cpu")
    if model is not None:
        versions = [entry.version for entry in model_versions(model)]
        parser.add_argument("--version", choices=versions, default=versions[0])
    return parser


def samples_by_seed(draw: Callable[[int], torch.Tensor], count: int, desc: str) -> torch.Tensor:
    """`count` uint8 samples: `draw(seed)` gives SAMPLES_PER_SEED of them, for seeds 0, 1, ..."""
    seeds = range((count + SAMPLES_PER_SEED - 1) // SAMPLES_PER_SEED)
    return torch.cat([draw(seed) for seed in tqdm(seeds, desc=desc)])[:count]


def add_metric(manifest_path: Path, name: str, value: Any) -> None:
    """Write one evaluation figure into a manifest at once, so a stopped evaluation keeps what it measured."""
    manifest = read_manifest(manifest_path)
    manifest["metrics"] = {**manifest.get("metrics", {}), name: value}
    write_manifest(manifest_path, manifest)
    print(name, value)
