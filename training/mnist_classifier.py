"""Train the MNIST classifier that evaluates the conditional GAN.

    python -m training.mnist_classifier --epochs 4 --data-dir data --out weights
"""

from __future__ import annotations

import argparse

import torch
from torch.nn import functional as F

from models.images import to_unit_range
from models.loader import build_network, network_spec
from models.mnist_classifier import MnistClassifier
from training.data import load_mnist
from training.run import TrainingRun, command_line, parameter_count, seed_everything, training_arguments

BATCH_SIZE = 128


def random_shift(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Shift each image by up to 2 pixels (zero padding = background)."""
    padded = F.pad(images, (2, 2, 2, 2), value=-1.0)
    dx, dy = torch.randint(0, 5, (2, len(images)), generator=generator)
    return torch.stack([padded[i, :, dy[i]:dy[i] + 28, dx[i]:dx[i] + 28] for i in range(len(images))])


@torch.no_grad()
def accuracy(model: MnistClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    model.eval()
    predictions = torch.cat([model(images[i:i + 1000]).argmax(1) for i in range(0, len(images), 1000)])
    return (predictions.cpu() == labels).float().mean().item()


def arguments() -> argparse.ArgumentParser:
    return training_arguments(__doc__.splitlines()[0], epochs=4)


def main(argv: list[str] | None = None) -> None:
    args = arguments().parse_args(argv)
    generator = seed_everything(args.seed)
    train_images, train_labels = load_mnist(args.data_dir, "train")
    test_images, test_labels = load_mnist(args.data_dir, "test")
    train_images, test_images = to_unit_range(train_images), to_unit_range(test_images)
    spec = network_spec(MnistClassifier)
    model = build_network(spec).to(args.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    steps = len(train_images) // BATCH_SIZE
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, 3e-3, total_steps=args.epochs * steps)
    stateful = {"model": model, "optimizer": optimizer, "schedule": schedule, "generator": generator}
    run = TrainingRun(args, "mnist-classifier", "1.0", command_line("training.mnist_classifier", argv), stateful,
                      curves=["train loss", "test accuracy"])
    for _ in run.epochs():
        model.train()
        losses = []
        for batch in run.batches(len(train_images), BATCH_SIZE, generator):
            x = random_shift(train_images[batch], generator).to(args.device)
            loss = F.cross_entropy(model(x), train_labels[batch].to(args.device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
        run.end_epoch({"train loss": sum(losses) / steps,
                       "test accuracy": accuracy(model, test_images.to(args.device), test_labels)})
    run.save(model, title="MNIST classifier (GAN evaluation)", manifest={
        "architecture": MnistClassifier.__doc__,
        "network": spec,
        "parameters": parameter_count(model),
        "data": {"set": "MNIST (official files)", "train": "60,000 training images",
                 "test": "10,000 test images"},
        "training": {"batch_size": BATCH_SIZE},
    }, metrics={"test_accuracy": run.history["test accuracy"][-1]})


if __name__ == "__main__":
    main()
