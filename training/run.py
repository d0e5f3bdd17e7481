"""What every training script shares: arguments, seeding, resumable checkpoints, curves, manifests."""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Iterator
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
    parser.add_argument("--hours", type=positive_float, help="end this run after the epoch that reaches it")
    return parser


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


class TrainingRun:
    """One invocation's share of a training that may be done in several runs: it starts from the
    checkpoint with `--resume`, saves one after each epoch, and stops after the epoch that uses
    up `--hours`. The checkpoint holds the `stateful` objects (modules, optimisers, schedules,
    RNGs) and the progress: epochs, seconds, the curves' history and the runs so far, each with
    its device, epochs and seconds (listed in the manifest).

        run = TrainingRun(args, checkpoint_path, stateful, curves=["train loss"])
        for epoch in run.epochs():
            ...
            run.end_epoch({"train loss": mean_loss})   # once per epoch, last
    """

    def __init__(self, args: argparse.Namespace, checkpoint_path: Path, stateful: dict[str, Any],
                 curves: list[str]) -> None:
        self.checkpoint_path = checkpoint_path
        self.stateful = stateful
        self.total_epochs = args.epochs
        self.hours = args.hours
        self.progress = {"epoch": 0, "seconds": 0.0, "runs": [], "history": {name: [] for name in curves}}
        if args.resume and checkpoint_path.exists():
            self.progress = restore_checkpoint(checkpoint_path, stateful)
        self.history: dict[str, list[float]] = self.progress["history"]
        if set(self.history) != set(curves):
            raise ValueError(f"{checkpoint_path} has the curves {sorted(self.history)}, not {sorted(curves)}")
        if "runs" not in self.progress:  # a checkpoint from before runs were recorded
            self.progress["runs"] = [{"device": "not recorded", "first_epoch": 1, "seconds": self.seconds,
                                      "last_epoch": self.epoch}] if self.epoch else []
        self.record = {"device": args.device, "first_epoch": self.epoch + 1, "seconds": 0.0}
        self.progress["runs"].append(self.record)
        self.started = time.time()
        self.epoch_started = self.started

    @property
    def epoch(self) -> int:
        """Epochs trained so far, over all runs."""
        return self.progress["epoch"]

    @property
    def seconds(self) -> float:
        """Seconds of training so far, over all runs (wall time of the epochs, any per-epoch
        evaluation included)."""
        return self.progress["seconds"]

    def epochs(self) -> Iterator[int]:
        """The epochs (counted from 0) this run trains."""
        while self.epoch < self.total_epochs and not self.out_of_time():
            self.epoch_started = time.time()
            yield self.epoch

    def end_epoch(self, curves: dict[str, float]) -> None:
        """Record the epoch's seconds and curve values, print them and save the checkpoint."""
        seconds = time.time() - self.epoch_started
        self.progress["epoch"] += 1
        self.progress["seconds"] += seconds
        self.record["seconds"] += seconds
        self.record["last_epoch"] = self.epoch
        for name, value in curves.items():
            self.history[name].append(value)
        print(f"epoch {self.epoch}: " + ", ".join(f"{name} {value:.4f}" for name, value in curves.items())
              + f", {self.seconds:.0f} s so far")
        save_checkpoint(self.checkpoint_path, self.stateful, self.progress)

    def out_of_time(self) -> bool:
        return self.hours is not None and time.time() - self.started >= self.hours * 3600

    def runs(self) -> list[dict[str, Any]]:
        """For the manifest: the runs that trained at least one epoch."""
        return [{**run, "seconds": round(run["seconds"])} for run in self.progress["runs"] if "last_epoch" in run]


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
