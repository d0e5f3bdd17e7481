"""Evaluate a CIFAR-10 classifier on the 10,000 test images and write the results into its manifest.

    python -m training.evaluate_cifar10 --version 2.0 --data-dir data --weights-dir weights

Measures what the server does: the same preprocessing and the same full-precision forward pass.
Writes test accuracy, per-class accuracy and the confusion matrix into the manifest and a
confusion-matrix plot next to it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib
import torch

from models.cifar10 import CLASSES, VERSIONS, preprocess
from models.manifest import read_manifest, verified_weights, write_manifest
from training.data import load_cifar10

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@torch.no_grad()
def confusion_matrix(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """counts[true class, predicted class]."""
    model.eval()
    predictions = torch.cat([model(preprocess(images[i:i + 500], model.input_size)).argmax(1)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", choices=list(VERSIONS), default="2.0")
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--weights-dir", type=Path, default=Path("weights"))
    args = parser.parse_args()
    manifest_path = args.weights_dir / f"cifar10-v{args.version}.json"
    weights, _ = verified_weights(manifest_path)
    model = VERSIONS[args.version]()
    model.load_state_dict(torch.load(weights, weights_only=True))
    images, labels = load_cifar10(args.data_dir, "test")
    counts = confusion_matrix(model, images, labels)
    accuracy = counts.diag().sum().item() / counts.sum().item()
    per_class = {name: round(counts[i, i].item() / counts[i].sum().item(), 4) for i, name in enumerate(CLASSES)}
    plot_path = args.weights_dir / f"cifar10-v{args.version}-confusion.png"
    plot_confusion(counts, plot_path, f"CIFAR-10 v{args.version}: test accuracy {accuracy:.2%}")
    manifest = read_manifest(manifest_path)
    manifest["metrics"] = {
        **manifest.get("metrics", {}),
        "test_accuracy": round(accuracy, 4),
        "per_class_accuracy": per_class,
        "confusion_matrix": counts.tolist(),
        "confusion_plot": plot_path.name,
        "how": "python -m training.evaluate_cifar10: all 10,000 test images (JPEG CIFAR-10), the "
               "server's preprocessing, float32, the network in eval mode as served (version 2.0 "
               "averages each image with its mirror image)",
    }
    write_manifest(manifest_path, manifest)
    print(f"test accuracy {accuracy:.4f}; " + ", ".join(f"{k} {v:.3f}" for k, v in per_class.items()))


if __name__ == "__main__":
    main()
