"""What every training script shares: arguments, seeding, shuffled batches, resumable checkpoints, curves,
manifests."""

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
from torch import nn
from torchvision.utils import save_image
from tqdm import tqdm

from models.cpu import cpu_name
from models.manifest import sha256_of, weights_name, write_manifest
from models.precision import native_bf16

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
    up `--hours`. The checkpoint (`<checkpoint-dir>/<model>-v<version>.pt`) holds the `stateful`
    objects (modules, optimisers, schedules, RNGs) and the progress: epochs, seconds, the curves'
    history and the runs so far, each with its device, epochs and seconds (listed in the manifest).

        run = TrainingRun(args, "ebm", "1.0", command_line("training.ebm", argv), stateful, curves=["train loss"])
        for epoch in run.epochs():
            bar = run.batches(len(images), batch_size, generator)
            for batch in bar:
                ...
            run.end_epoch({"train loss": mean_loss})   # once per epoch, last
        run.save(network, title=..., manifest={...}, metrics={...})
    """

    def __init__(self, args: argparse.Namespace, model: str, version: str, command: str,
                 stateful: dict[str, Any], curves: list[str], bf16: bool = False) -> None:
        self.model = model
        self.version = version
        self.name = weights_name(model, version)
        self.command = command
        self.out: Path = args.out
        self.device: str = args.device
        self.seed: int = args.seed
        self.bf16 = bf16
        self.checkpoint_path: Path = args.checkpoint_dir / f"{self.name}.pt"
        self.stateful = stateful
        self.total_epochs = args.epochs
        self.hours = args.hours
        self.progress = {"epoch": 0, "seconds": 0.0, "runs": [], "history": {name: [] for name in curves}}
        if args.resume and self.checkpoint_path.exists():
            self.progress = restore_checkpoint(self.checkpoint_path, stateful)
        self.history: dict[str, list[float]] = self.progress["history"]
        if set(self.history) != set(curves):
            raise ValueError(f"{self.checkpoint_path} has the curves {sorted(self.history)}, not {sorted(curves)}")
        if "runs" not in self.progress:  # a checkpoint from before runs were recorded
            self.progress["runs"] = [{"device": "not recorded", "first_epoch": 1, "seconds": self.seconds,
                                      "last_epoch": self.epoch}] if self.epoch else []
        self.record = {"device": device_description(args.device, bf16), "first_epoch": self.epoch + 1, "seconds": 0.0}
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

    def batches(self, size: int, batch_size: int, generator: torch.Generator) -> tqdm:
        """This epoch's batches: index tensors into a data set of `size` items, in one shuffled order
        (one `torch.randperm` of `generator`), full batches only. Iterate over the returned progress
        bar; its `set_postfix` shows running figures."""
        order = torch.randperm(size, generator=generator)
        steps = size // batch_size
        return tqdm((order[step * batch_size:(step + 1) * batch_size] for step in range(steps)), total=steps,
                    desc=f"epoch {self.epoch + 1}/{self.total_epochs}")

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

    def add_points(self, points: dict[str, float]) -> None:
        """Figures measured after the epoch just ended, at some epochs only (a sample-quality check,
        whose time is not training time): recorded with the epoch, printed, checkpointed."""
        for name, value in points.items():
            self.points.setdefault(name, []).append([self.epoch, value])
        print(f"epoch {self.epoch}: " + ", ".join(f"{name} {value:.5f}" for name, value in points.items()))
        save_checkpoint(self.checkpoint_path, self.stateful, self.progress)

    @property
    def points(self) -> dict[str, list[list[float]]]:
        """The figures add_points recorded: {name: [[epoch, value], ...]}."""
        return self.progress.setdefault("points", {})

    def out_of_time(self) -> bool:
        return self.hours is not None and time.time() - self.started >= self.hours * 3600

    def runs(self) -> list[dict[str, Any]]:
        """For the manifest: the runs that trained at least one epoch."""
        return [{**run, "seconds": round(run["seconds"])} for run in self.progress["runs"] if "last_epoch" in run]

    def devices(self) -> str:
        """For the manifest: what the runs trained on, each distinct device once ("cpu (AMD EPYC 7B13, 2 cores,
        no native bf16) + cpu (Intel(R) Xeon(R) Processor, 2 cores, native bf16, bf16 autocast)" for a
        training resumed on a machine with native bf16)."""
        described = [run["device"] for run in self.runs()] or [self.record["device"]]
        return " + ".join(dict.fromkeys(described))

    def output(self, suffix: str) -> Path:
        """A file of this model version's in `--out`: `output("-samples.png")` is `<out>/<name>-samples.png`."""
        return self.out / f"{self.name}{suffix}"

    def save(self, network: nn.Module, title: str, manifest: dict[str, Any], metrics: dict[str, Any]) -> Path:
        """Write what the training made: `<out>/<name>.pt` (the weights of `network`), `<name>-curve.png`
        (the curves, titled `title`) and the manifest `<name>.json`: model and version, the script's
        own fields (`manifest`: architecture, the network spec under "network", parameters, data,
        "training" settings, to which the epochs, seed and runs, each with its device and bf16
        autocast, are added), then the command, seconds, devices, `metrics` and the weights' sha256.
        Returns the weights' path."""
        self.out.mkdir(parents=True, exist_ok=True)
        weights = self.output(".pt")
        torch.save(network.state_dict(), weights)
        plot_curves(self.history, self.output("-curve.png"), title, self.points)
        training = {"epochs": self.epoch, **manifest["training"], "seed": self.seed, "runs": self.runs(),
                    **({"points": self.points} if self.points else {})}
        write_run_manifest(self.output(".json"), {"model": self.model, "version": self.version, **manifest,
                                                  "training": training},
                           command=self.command, seconds=round(self.seconds),
                           device=self.devices(), metrics=metrics,
                           weights=weights_entry(weights))
        print(f"wrote {weights}")
        return weights


def write_run_manifest(path: Path, description: dict[str, Any], command: str, seconds: float, device: str,
                       metrics: dict[str, Any], weights: dict[str, str]) -> None:
    """A manifest: what the script says the weights are (`description`: model, version, architecture,
    parameters, data, ...), then how they were made and what they score, in the same keys for every model."""
    write_manifest(path, {**description, "command": command, "seconds": seconds, "device": device,
                          "metrics": metrics, "weights": weights})


def weights_entry(path: Path) -> dict[str, str]:
    """A manifest's "weights" for a file next to it."""
    return {"file": path.name, "sha256": sha256_of(path)}


def parameter_count(network: nn.Module) -> int:
    return sum(p.numel() for p in network.parameters())


def command_line(module: str, argv: list[str] | None) -> str:
    """The command that ran `module`'s main(argv): with `argv` as given, or this process's arguments
    where main() parsed those."""
    return " ".join(["python -m", module, *(sys.argv[1:] if argv is None else argv)])


def device_description(device: str, bf16: bool = False) -> str:
    """What a manifest says the weights were made on: "cpu (Intel(R) Xeon(R) Processor, 2 cores, native bf16,
    bf16 autocast)", "cpu (AMD EPYC 7B13, 2 cores, no native bf16)", "cuda:0 (<GPU name>)"."""
    autocast = ", bf16 autocast" if bf16 else ""
    if device == "cpu":
        native = "native bf16" if native_bf16(device) else "no native bf16"
        return f"cpu ({cpu_name()}, {os.cpu_count()} cores, {native}{autocast})"
    return f"{device} ({torch.cuda.get_device_name(device)}{autocast})"


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


def plot_curves(history: dict[str, list[float]], path: Path, title: str,
                points: dict[str, list[list[float]]] | None = None) -> None:
    """One panel per curve in `history` (each a value per epoch) and per series of `points`
    ([epoch, value] pairs)."""
    series = {name: (list(range(1, len(values) + 1)), values) for name, values in history.items()}
    series |= {name: ([epoch for epoch, _ in pairs], [value for _, value in pairs])
               for name, pairs in (points or {}).items()}
    fig, axes = plt.subplots(1, len(series), figsize=(4 * len(series), 3.2), squeeze=False)
    for ax, (name, (epochs, values)) in zip(axes[0], series.items()):
        ax.plot(epochs, values, marker=".")
        ax.set_xlabel("epoch")
        ax.set_title(name)
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
