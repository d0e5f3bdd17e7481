"""Evaluate a CIFAR-10 classifier on the 10,000 test images and write the results into its manifest.

    python -m training.evaluate_cifar10 --version 3.0 --data-dir data --weights-dir weights

Measures what the server does: the same preprocessing and the same full-precision forward pass.
Writes test accuracy, per-class accuracy and the confusion matrix into the manifest and a
confusion-matrix plot next to it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib
import torch

from models.catalog import model_version
from models.cifar10 import CLASSES, preprocess
from models.loader import load_network
from models.manifest import weights_name
from training.data import load_cifar10
from training.evaluation import add_metric, evaluation_arguments

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@torch.no_grad()
def confusion_matrix(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, device: str
                     ) -> torch.Tensor:
    """counts[true class, predicted class]."""
    predictions = torch.cat([model(preprocess(images[i:i + 500].to(device), model.input_size)).argmax(1).cpu()
                             for i in range(0, len(images), 500)])
    counts = torch.zeros(len(CLASSES), len(CLASSES), dtype=torch.long)
    counts.index_put_((labels, predictions), torch.ones_like(labels), accumulate=True)
    return counts


def plot_confusion(counts: torch.Tensor, path: Path, title: str) -> None:
    fig, ax = plt.subplots(figsize=(7, 6))
    ax.imshow(counts, cmap="Blues")
    ax.set_xticks(range(10), CLASSES, rotation=45, ha="right")
    ax.set_yticks(range(10), CLASSES)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(10):
        for j in range(10):
            ax.text(j, i, int(counts[i, j]), ha="center", va="center", fontsize=7,
                    color="white" if counts[i, j] > counts.max() / 2 else "black")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def arguments() -> argparse.ArgumentParser:
    return evaluation_arguments(__doc__.splitlines()[0], model="cifar10")


def main(argv: list[str] | None = None) -> None:
    args = arguments().parse_args(argv)
    manifest_path = model_version("cifar10", args.version, args.weights_dir).manifest_path
    model, _ = load_network(manifest_path, args.device)
    images, labels = load_cifar10(args.data_dir, "test")
    counts = confusion_matrix(model, images, labels, args.device)
    accuracy = counts.diag().sum().item() / counts.sum().item()
    per_class = {name: round(counts[i, i].item() / counts[i].sum().item(), 4) for i, name in enumerate(CLASSES)}
    plot_path = args.weights_dir / f"{weights_name('cifar10', args.version)}-confusion.png"
    plot_confusion(counts, plot_path, f"CIFAR-10 v{args.version}: test accuracy {accuracy:.2%}")
    add_metric(manifest_path, "test_accuracy", round(accuracy, 4))
    add_metric(manifest_path, "per_class_accuracy", per_class)
    add_metric(manifest_path, "confusion_matrix", counts.tolist())
    add_metric(manifest_path, "confusion_plot", plot_path.name)
    add_metric(manifest_path, "how", "python -m training.evaluate_cifar10: all 10,000 test images (JPEG CIFAR-10), "
               "the server's preprocessing, float32, the network in eval mode as served (versions 2.0 and 3.0 "
               "average each image with its mirror image)")


if __name__ == "__main__":
    main()
