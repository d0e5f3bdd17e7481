"""Train the MNIST classifier that evaluates the conditional GAN.

    python -m training.mnist_classifier --epochs 4 --data-dir data --out weights
"""

from __future__ import annotations

import torch
from torch.nn import functional as F
from tqdm import tqdm

from models.manifest import sha256_of, write_manifest
from models.mnist_classifier import MnistClassifier
from training.data import load_mnist
from training.run import TrainingRun, command_line, plot_curves, seed_everything, training_arguments

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


def main() -> None:
    args = training_arguments(__doc__.splitlines()[0], epochs=4).parse_args()
    generator = seed_everything(args.seed)
    train_images, train_labels = load_mnist(args.data_dir, "train")
    test_images, test_labels = load_mnist(args.data_dir, "test")
    train_images, test_images = train_images.float() / 127.5 - 1, test_images.float() / 127.5 - 1
    model = MnistClassifier().to(args.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    steps = len(train_images) // BATCH_SIZE
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, 3e-3, total_steps=args.epochs * steps)
    stateful = {"model": model, "optimizer": optimizer, "schedule": schedule, "generator": generator}
    run = TrainingRun(args, args.checkpoint_dir / "mnist-classifier.pt", stateful,
                      curves=["train loss", "test accuracy"])
    for epoch in run.epochs():
        model.train()
        order = torch.randperm(len(train_images), generator=generator)
        losses = []
        for step in tqdm(range(steps), desc=f"epoch {epoch + 1}/{args.epochs}"):
            batch = order[step * BATCH_SIZE:(step + 1) * BATCH_SIZE]
            x = random_shift(train_images[batch], generator).to(args.device)
            loss = F.cross_entropy(model(x), train_labels[batch].to(args.device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
        run.end_epoch({"train loss": sum(losses) / steps,
                       "test accuracy": accuracy(model, test_images.to(args.device), test_labels)})
    args.out.mkdir(parents=True, exist_ok=True)
    weights = args.out / "mnist-classifier.pt"
    torch.save(model.state_dict(), weights)
    plot_curves(run.history, args.out / "mnist-classifier-curve.png", "MNIST classifier (GAN evaluation)")
    write_manifest(args.out / "mnist-classifier.json", {
        "model": "mnist-classifier",
        "version": "1.0",
        "architecture": MnistClassifier.__doc__,
        "parameters": sum(p.numel() for p in model.parameters()),
        "data": {"set": "MNIST (official files)", "train": "60,000 training images",
                 "test": "10,000 test images"},
        "training": {"epochs": run.epoch, "batch_size": BATCH_SIZE, "seed": args.seed, "runs": run.runs()},
        "command": command_line("training.mnist_classifier"),
        "seconds": round(run.seconds),
        "device": args.device,
        "metrics": {"test_accuracy": run.history["test accuracy"][-1]},
        "weights": {"file": weights.name, "sha256": sha256_of(weights)},
    })


if __name__ == "__main__":
    main()
