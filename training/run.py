"""What every training script shares: arguments, seeding, resumable checkpoints, curves, manifests."""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import torch
from torchvision.utils import save_image

from models.manifest import read_manifest, write_manifest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def training_arguments(description: str, epochs: int | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("weights"))
    parser.add_argument("--checkpoint-dir", type=Path, default=Path("checkpoints"))
    parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    return parser


class TrainingRun:
    """One invocation's share of a training that may be done in several runs (`--resume`): it
    records its device, epochs and seconds in the progress (saved with each checkpoint, listed in
    the manifest) and says when `--hours` is used up."""

    def __init__(self, progress: dict[str, Any], device: str, hours: float | None) -> None:
        self.progress = progress
        self.record = {"device": device, "first_epoch": progress["epoch"] + 1, "seconds": 0.0}
        progress.setdefault("runs", []).append(self.record)
        self.hours = hours
        self.started = time.time()

    def epoch_done(self, seconds: float) -> None:
        self.progress["epoch"] += 1
        self.progress["seconds"] += seconds
        self.record["seconds"] += seconds
        self.record["last_epoch"] = self.progress["epoch"]

    def out_of_time(self) -> bool:
        return self.hours is not None and time.time() - self.started >= self.hours * 3600

    def runs(self) -> list[dict[str, Any]]:
        """For the manifest."""
        return [{**run, "seconds": round(run["seconds"])} for run in self.progress["runs"]]


def add_metric(manifest_path: Path, name: str, value: Any) -> None:
    """Write one evaluation figure into a manifest at once, so a stopped evaluation keeps what it measured."""
    manifest = read_manifest(manifest_path)
    manifest["metrics"] = {**manifest.get("metrics", {}), name: value}
    write_manifest(manifest_path, manifest)
    print(name, value)


def command_line(module: str) -> str:
    return " ".join(["python -m", module, *sys.argv[1:]])


def device_description(device: str, bf16: bool) -> str:
    """What the manifest says a model was trained on."""
    if device == "cpu":
        return f"cpu ({os.cpu_count()}-core CPU{', bf16 autocast' if bf16 else ''})"
    return f"{device} ({torch.cuda.get_device_name(device)}{', bf16 autocast' if bf16 else ''})"


def seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def save_checkpoint(path: Path, objects: dict[str, Any], progress: dict[str, Any]) -> None:
    """Save the state of every object (modules, optimisers, schedules, RNGs) and the progress
    (epoch, seconds, history). Written atomically: a run stopped mid-write keeps its last checkpoint."""
    state = {name: obj.get_state() if isinstance(obj, torch.Generator) else obj.state_dict()
             for name, obj in objects.items() if obj is not None}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    torch.save({"objects": state, "progress": progress}, partial)
    partial.replace(path)


def restore_checkpoint(path: Path, objects: dict[str, Any]) -> dict[str, Any]:
    """Load a checkpoint's state into the objects; return its progress."""
    checkpoint = torch.load(path, weights_only=False)  # our own file: it holds RNG states and history
    for name, obj in objects.items():
        if obj is None:
            continue
        if isinstance(obj, torch.Generator):
            obj.set_state(checkpoint["objects"][name])
        else:
            obj.load_state_dict(checkpoint["objects"][name])
    print(f"resumed after epoch {checkpoint['progress']['epoch']}")
    return checkpoint["progress"]


def save_grid(images: torch.Tensor, path: Path, columns: int) -> None:
    """uint8 images (N, C, H, W) tiled in a grid PNG, `columns` per row."""
    save_image(images.float() / 255.0, path, nrow=columns, padding=2)


def plot_curves(history: dict[str, list[float]], path: Path, title: str) -> None:
    """One panel per curve in `history` (each a value per epoch)."""
    fig, axes = plt.subplots(1, len(history), figsize=(4 * len(history), 3.2), squeeze=False)
    for ax, (name, values) in zip(axes[0], history.items()):
        ax.plot(range(1, len(values) + 1), values, marker=".")
        ax.set_xlabel("epoch")
        ax.set_title(name)
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
