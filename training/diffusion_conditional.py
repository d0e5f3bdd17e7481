"""Train diffusion 2.0: a class-conditional UNet for classifier-free guidance.

    python -m training.diffusion_conditional --epochs 20 --cooldown-epochs 10 --hours 2 --out weights --resume

The network is diffusion 1.0's UNet with a class embedding added to the noise embedding and
self-attention after each block at 8x8 (models/unet.py). Both start at zero, so training starts
from 1.0's served weights (`--init`, its weights manifest) and goes on from there: 1.0's 32 epochs are not paid again.
Each step is 1.0's (training/diffusion.py `train_noise_predictor`) with each image's class, replaced
by "no class" for CLASS_DROPOUT of them so that one network predicts both ways (Ho & Salimans,
2022), and the error weighted by min-SNR-5 (Hang et al., 2023). A lower learning rate than 1.0's,
as for any fine-tuning, held constant and brought down to zero over the last `--cooldown-epochs`.

Every `--kid-every` epochs the EMA draws KID_SAMPLES samples unconditionally and KID_SAMPLES with
the classes cycled (guidance 0), at the served sampler settings, and their KID against as many
training images goes into the checkpoint and the manifest (`training.points`): the curve that says
whether more epochs pay. It needs `make install-eval`; `--kid-every 0` skips it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from models.cifar10 import CLASSES
from models.diffusion_sampler import reverse_diffusion
from models.loader import build_network, load_network, network_spec, sampler_spec
from models.seeds import Seeds
from models.unet import UNet
from training.data import load_cifar10
from training.diffusion import (
    CIFAR10_TRAINING_DATA,
    SCHEDULE,
    diffusion_loss,
    optimizer_description,
    train_noise_predictor,
)
from training.run import TrainingRun, command_line, parameter_count, save_grid, seed_everything, training_arguments

BATCH_SIZE = 128
LEARNING_RATE = 2e-4
WARMUP_STEPS = 500
CLASS_DROPOUT = 0.1
MIN_SNR = 5.0
KID_SAMPLES = 2000
# The settings the curve's samples are drawn with: diffusion 1.0's served sampler.
CURVE_SAMPLER = {"sampler": "dpmpp_2m", "eta": 0.0, "steps": 10}
GRID_GUIDANCE = 1.0


def arguments() -> argparse.ArgumentParser:
    parser = training_arguments(__doc__.splitlines()[0], epochs=20)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--cooldown-epochs", type=int, default=10,
                        help="the last epochs, over which the learning rate goes down linearly to zero")
    parser.add_argument("--init", type=Path, default=Path("weights/diffusion-v1.0.json"),
                        help="the weights manifest of the unconditional UNet to start from (diffusion 1.0's)")
    parser.add_argument("--kid-every", type=int, default=2, help="epochs between KID points (0: none)")
    return parser


def conditional_start(manifest_path: Path) -> tuple[dict[str, Any], UNet, dict[str, str]]:
    """(the network spec, the class-conditional UNet with the unconditional one's weights, the
    manifest's file and weights sha256 for ours). Its class embedding and attention start at zero."""
    start, manifest = load_network(manifest_path)
    if manifest["network"]["class"] != network_spec(UNet)["class"]:
        raise ValueError(f"{manifest_path} is not a UNet's manifest")
    spec = network_spec(UNet, **manifest["network"]["args"], num_classes=len(CLASSES), attention_at=8)
    model = build_network(spec)
    missing, unexpected = model.load_state_dict(start.state_dict(), strict=False)
    new = [key for key in missing if not key.startswith(("class_embedding.", "down_attention.", "up_attention."))]
    if new or unexpected:
        raise ValueError(f"{manifest_path} is not this UNet without classes: missing {new}, unexpected {unexpected}")
    return spec, model, {"file": manifest_path.name, "weights_sha256": manifest["weights"]["sha256"]}


def cycled_labels(count: int) -> torch.Tensor:
    """0, 1, ..., 9, 0, 1, ...: every class equally often."""
    return torch.arange(count) % len(CLASSES)


def draw(network: torch.nn.Module, count: int, labels: torch.Tensor | None, guidance: float = 0.0,
         batch: int = 250, sampler: dict[str, Any] = CURVE_SAMPLER) -> torch.Tensor:
    """`count` uint8 samples with seeds 0.. (one each), in batches, drawn with `sampler`'s settings."""
    parts = []
    for start in range(0, count, batch):
        size = min(batch, count - start)
        seeds = Seeds([(1, seed) for seed in range(start, start + size)])
        parts.append(reverse_diffusion(network, seeds, sampler["steps"], sampler=sampler["sampler"],
                                       eta=sampler["eta"], guidance=guidance,
                                       labels=None if labels is None else labels[start:start + size]))
    return torch.cat(parts)


def kid_curve(data_dir: Path, images: torch.Tensor, every: int, device: str,
              sampler: dict[str, Any] = CURVE_SAMPLER) -> Callable[[int, torch.nn.Module], dict[str, float]] | None:
    """The `measure` of train_noise_predictor: KID at KID_SAMPLES of unconditional and of
    class-cycled samples (drawn with `sampler`'s settings, no guidance) every `every` epochs."""
    if not every:
        return None
    from training.fid import InceptionFeatures, batches_of, kernel_inception_distance
    from training.npz_cache import cached_features
    from training.sample_quality import content_hash

    inception = InceptionFeatures(device)
    subset = images[torch.randperm(len(images), generator=torch.Generator().manual_seed(0))[:KID_SAMPLES]]
    reference = cached_features(data_dir / "fid" / f"cifar10-train-{KID_SAMPLES}-{content_hash([subset])}.npz",
                                lambda: inception(batches_of(subset), len(subset), "CIFAR-10 train"))

    def measure(epoch: int, ema: torch.nn.Module) -> dict[str, float]:
        if epoch % every:
            return {}
        points = {}
        for name, labels in (("kid_2000_unconditional", None), ("kid_2000_classes", cycled_labels(KID_SAMPLES))):
            samples = draw(ema, KID_SAMPLES, labels, sampler=sampler)
            points[name] = round(kernel_inception_distance(
                inception(batches_of(samples), len(samples), name), reference)[0], 5)
        return points

    return measure


def main(argv: list[str] | None = None) -> None:
    args = arguments().parse_args(argv)
    generator = seed_everything(args.seed)
    images, labels = load_cifar10(args.data_dir, "train")

    spec, model, init = conditional_start(args.init)
    model = model.to(args.device)
    run, ema = train_noise_predictor(args, model, images, generator,
                                     ("diffusion", "2.0", command_line("training.diffusion_conditional", argv)),
                                     LEARNING_RATE, WARMUP_STEPS, labels=labels, class_dropout=CLASS_DROPOUT,
                                     loss=lambda network, batch, classes, _: diffusion_loss(
                                         network, batch, generator, classes, MIN_SNR),
                                     cooldown_epochs=args.cooldown_epochs,
                                     measure=kid_curve(args.data_dir, images, args.kid_every, args.device))
    save_diffusion_2(run, ema, model, spec, args, init)


def save_diffusion_2(run: TrainingRun, ema: torch.nn.Module, model: torch.nn.Module, spec: dict[str, Any],
                     args: argparse.Namespace, init: dict[str, str]) -> None:
    run.save(ema, title="Diffusion 2.0 (class-conditional UNet)", manifest={
        "architecture": {"network": "diffusion 1.0's UNet noise predictor with a class embedding (10 classes and "
                                    "'no class') added to the noise embedding, and single-head self-attention "
                                    "after each block at 8x8",
                         "schedule": SCHEDULE, "guidance": "classifier-free (models/guidance.py)"},
        "network": spec,
        "sampler": sampler_spec(reverse_diffusion),
        "parameters": parameter_count(model),
        "data": {**CIFAR10_TRAINING_DATA, "labels": "the CIFAR-10 class of each image"},
        "training": {"batch_size": args.batch_size,
                     "loss": f"mean squared error of the predicted noise, min-SNR-{MIN_SNR:g} weighted",
                     "class_dropout": CLASS_DROPOUT,
                     "initialised_from": init,
                     "kid_points": f"KID of {KID_SAMPLES} EMA samples ({CURVE_SAMPLER['sampler']}, "
                                   f"{CURVE_SAMPLER['steps']} steps, seeds 0..) against {KID_SAMPLES} training "
                                   "images: unconditional, and classes cycled at guidance 0",
                     **optimizer_description(LEARNING_RATE, WARMUP_STEPS, args.cooldown_epochs)},
    }, metrics={})
    rows = 8
    labels = torch.arange(len(CLASSES)).repeat_interleave(rows)
    samples = draw(ema, len(labels), labels, guidance=GRID_GUIDANCE)
    save_grid(samples, run.output("-samples.png"), columns=rows)


if __name__ == "__main__":
    main()
