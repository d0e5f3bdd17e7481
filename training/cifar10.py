"""Train a CIFAR-10 classifier (version 1.0, the course baseline, 2.0, or 3.0, the default).

    python -m training.cifar10 --version 3.0 --epochs 40 --data-dir data --out weights

Version 3.0 follows training/cifar10_recipe.py (whitened first layer, lookahead, alternating
flips, 2-pixel translations). Versions 1.0 and
2.0: random crops of the image padded by 4 pixels (reflected) and horizontal flips; 2.0 uses SGD
with Nesterov momentum, label smoothing and a one-cycle learning rate, 1.0 uses Adam. Writes
`weights/cifar10-v<version>.pt`, its manifest and a curve plot;
`training.evaluate_cifar10` then adds the test metrics.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import torch
from torch.nn import functional as F

from models.cifar10 import BaselineNet, ResidualNet, WhitenedNet, preprocess
from models.loader import build_network, network_spec
from models.precision import native_bf16
from training import cifar10_recipe
from training.data import load_cifar10
from training.run import TrainingRun, command_line, parameter_count, seed_everything, training_arguments

NETWORKS = {"1.0": network_spec(BaselineNet), "2.0": network_spec(ResidualNet, widths=[64, 256, 256]),
            "3.0": network_spec(WhitenedNet, widths=[64, 256, 256], whitening_kernel=2)}
SETTINGS = {  # version -> optimiser settings (3.0's: training/cifar10_recipe.py)
    "1.0": {"batch_size": 128, "lr": 1e-3, "label_smoothing": 0.0, "epochs": 20},
    "2.0": {"batch_size": 512, "lr": 0.2, "label_smoothing": 0.2, "epochs": 30},
    "3.0": {"batch_size": cifar10_recipe.BATCH_SIZE, "lr": cifar10_recipe.LR_PER_1024,
            "label_smoothing": cifar10_recipe.LABEL_SMOOTHING, "epochs": 40},
}


def augment(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random 4-pixel translations (reflect padding) and horizontal flips of uint8 images."""
    n, _, h, w = images.shape
    padded = F.pad(images.float(), (4, 4, 4, 4), mode="reflect")
    dx = torch.randint(0, 9, (n,), generator=generator)
    dy = torch.randint(0, 9, (n,), generator=generator)
    crops = torch.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])
    flip = torch.rand(n, generator=generator) < 0.5
    crops[flip] = crops[flip].flip(-1)
    return crops.to(torch.uint8)


@torch.no_grad()
def accuracy(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, device: str,
             bf16: bool, batch_size: int = 1000) -> float:
    model.eval()
    correct = 0
    for start in range(0, len(images), batch_size):
        x = preprocess(images[start:start + batch_size].to(device), model.input_size)
        with torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=bf16):
            logits = model(x.contiguous(memory_format=torch.channels_last))
        correct += (logits.argmax(1).cpu() == labels[start:start + batch_size]).sum().item()
    return correct / len(images)


def train_classic(args: argparse.Namespace, settings: dict, model: torch.nn.Module, command: str, curves: list[str],
                  bf16: bool, generator: torch.Generator, images: torch.Tensor, labels: torch.Tensor,
                  test_accuracy: Callable[[], float]) -> TrainingRun:
    """Versions 1.0 (Adam, cosine schedule) and 2.0 (Nesterov SGD, one-cycle schedule)."""
    steps_per_epoch = len(images) // settings["batch_size"]
    if args.version == "1.0":
        optimizer = torch.optim.Adam(model.parameters(), lr=settings["lr"])
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, args.epochs * steps_per_epoch)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=settings["lr"], momentum=0.9, nesterov=True,
                                    weight_decay=5e-4)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, settings["lr"],
                                                       total_steps=args.epochs * steps_per_epoch,
                                                       pct_start=0.25)
    stateful = {"model": model, "optimizer": optimizer, "schedule": schedule, "generator": generator}
    run = TrainingRun(args, "cifar10", args.version, command, stateful, curves, bf16=bf16)
    for _ in run.epochs():
        model.train()
        losses = []
        bar = run.batches(len(images), settings["batch_size"], generator)
        for batch in bar:
            x = preprocess(augment(images[batch], generator).to(args.device), model.input_size)
            y = labels[batch].to(args.device)
            with torch.autocast(args.device.split(":")[0], dtype=torch.bfloat16, enabled=bf16):
                logits = model(x.contiguous(memory_format=torch.channels_last))
            loss = F.cross_entropy(logits.float(), y, label_smoothing=settings["label_smoothing"])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
            bar.set_postfix(loss=f"{sum(losses[-20:]) / len(losses[-20:]):.3f}")
        run.end_epoch({"train loss": sum(losses) / len(losses), "test accuracy": test_accuracy()})
    return run


def arguments() -> argparse.ArgumentParser:
    parser = training_arguments(__doc__.splitlines()[0], epochs=None)  # 20 for 1.0, 30 for 2.0, 40 for 3.0
    parser.add_argument("--version", choices=list(NETWORKS), default="3.0")
    parser.add_argument("--batch-size", type=int, help="default: 128 for 1.0, 512 for 2.0, 1024 for 3.0")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = arguments().parse_args(argv)
    settings = {**SETTINGS[args.version]}
    if args.batch_size:
        settings["batch_size"] = args.batch_size
    default_epochs = settings.pop("epochs")
    args.epochs = args.epochs or default_epochs
    generator = seed_everything(args.seed)
    bf16 = native_bf16(args.device)
    train_images, train_labels = load_cifar10(args.data_dir, "train")
    test_images, test_labels = load_cifar10(args.data_dir, "test")

    spec = NETWORKS[args.version]
    model = build_network(spec).to(args.device).to(memory_format=torch.channels_last)
    command = command_line("training.cifar10", argv)
    curves = ["train loss", "test accuracy"]

    def test_accuracy() -> float:
        return accuracy(model, test_images, test_labels, args.device, bf16)

    if args.version == "3.0":
        # A resumed run's checkpoint then puts back the filters it trained with (and the generator).
        model.whiten.weight.data[:] = cifar10_recipe.whitening_filters(
            cifar10_recipe.normalised(cifar10_recipe.whitening_sample(train_images, generator)),
            model.whiten.kernel_size[0])
        optimizer = cifar10_recipe.optimizer_for(model, settings["batch_size"])
        stateful = {"model": model, "optimizer": optimizer, "generator": generator}
        run = TrainingRun(args, "cifar10", args.version, command, stateful, curves, bf16=bf16)
        cifar10_recipe.train(run, model, optimizer, settings["batch_size"], train_images, train_labels, generator,
                             test_accuracy)
        augmentation = cifar10_recipe.__doc__.split("\n\n", 1)[1].strip()
    else:
        run = train_classic(args, settings, model, command, curves, bf16, generator, train_images, train_labels,
                            test_accuracy)
        augmentation = "4-pixel reflect-padded random crops, horizontal flips"

    doc = type(model).__doc__
    run.save(model, title=f"CIFAR-10 classifier v{args.version}", manifest={
        "architecture": doc.split("\n")[0] + " " + " ".join(line.strip() for line in doc.split("\n")[1:]),
        "network": spec,
        "parameters": parameter_count(model),
        "input_size": model.input_size,
        "data": {"set": "CIFAR-10 as JPEG (../shared/data/cifar10-jpeg.tar.gz)",
                 "train": "50,000 training images", "test": "10,000 test images"},
        "training": {**settings, "recipe" if args.version == "3.0" else "augmentation": augmentation},
    }, metrics={"test_accuracy_after_training": run.history["test accuracy"][-1]})


if __name__ == "__main__":
    main()
