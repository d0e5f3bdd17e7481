"""Train the diffusion model: a UNet that predicts the noise added to CIFAR-10 training images.

    python -m training.diffusion --epochs 40 --hours 2 --data-dir data --out weights --resume

Each step takes a batch of training images (randomly flipped, normalised per channel), a random
diffusion time per image, noises them with the offset-cosine schedule and regresses the network's
noise prediction on the true noise (mean squared error). AdamW with a warm-up; an
exponential moving average of the weights (decay 0.999, warmed up) is what gets served. `--hours` ends a run
after the epoch that reaches it, so a long training is done in runs of bounded length, each
continued with `--resume` (the checkpoint holds the network, the EMA, the optimiser and the RNG).
Each run writes `weights/diffusion-v1.0.pt` (the EMA weights), its manifest, a curve plot and a grid
of 64 samples drawn with the served settings (archive/diffusion/model-config.yaml);
`training.evaluate_diffusion` adds the quality metrics.
"""

from __future__ import annotations

import argparse
import copy
from collections.abc import Callable

import torch

from models.catalog import model_version
from models.diffusion_sampler import reverse_diffusion
from models.diffusion_schedule import add_noise
from models.images import normalize
from models.loader import build_network, network_spec, sampler_spec
from models.precision import native_bf16
from models.seeds import Seeds
from models.unet import UNet
from training.data import load_cifar10
from training.ema import update_ema, warmed_up_decay
from training.run import TrainingRun, command_line, parameter_count, save_grid, seed_everything, training_arguments

BATCH_SIZE = 128
LEARNING_RATE = 1e-3
WARMUP_STEPS = 1000
GRAD_CLIP = 1.0
WEIGHT_DECAY = 1e-4
EMA_DECAY = 0.999
CIFAR10_TRAINING_DATA = {"set": "CIFAR-10 as JPEG (../shared/data/cifar10-jpeg.tar.gz)",
                         "train": "50,000 training images, random horizontal flips",
                         "normalization": "per-channel CIFAR-10 mean and std (models/images.py)"}
SCHEDULE = "offset cosine, signal rate 0.95 (t=0) to 0.02 (t=1)"


def diffusion_loss(model: torch.nn.Module, images: torch.Tensor, generator: torch.Generator,
                   labels: torch.Tensor | None = None, min_snr: float | None = None) -> torch.Tensor:
    """Noise-prediction error on normalised images at random diffusion times, for their `labels`
    where the network takes a class. `min_snr` = gamma weights each image's error by
    min(SNR, gamma) / SNR (Hang et al., 2023), so the nearly clean images, whose noise is the
    hardest to see and matters least, do not dominate."""
    noise = torch.randn(images.shape, generator=generator).to(images.device)
    times = torch.rand(len(images), generator=generator).to(images.device)
    noisy, noise_variance = add_noise(images, noise, times)
    predicted = model(noisy, noise_variance) if labels is None else model(noisy, noise_variance, labels)
    errors = (predicted.float() - noise).pow(2).mean(dim=(1, 2, 3))
    if min_snr is not None:
        snr = (1 - noise_variance) / noise_variance
        errors = errors * torch.clamp(snr, max=min_snr) / snr
    return errors.mean()


# The error a step minimises: loss(network, normalised images, their labels or None, optimiser step).
Loss = Callable[[torch.nn.Module, torch.Tensor, torch.Tensor | None, int], torch.Tensor]


def train_noise_predictor(args: argparse.Namespace, model: torch.nn.Module, images: torch.Tensor,
                          generator: torch.Generator, name: tuple[str, str, str], learning_rate: float,
                          warmup_steps: int, labels: torch.Tensor | None = None, class_dropout: float = 0.0,
                          loss: Loss | None = None, cooldown_epochs: int = 0,
                          measure: Callable[[int, torch.nn.Module], dict[str, float]] | None = None,
                          ) -> tuple[TrainingRun, torch.nn.Module]:
    """This run's epochs of training of the noise predictor `model` on uint8 `images` (randomly
    flipped): AdamW with a warm-up and an EMA of the weights, for the diffusion models, their
    distillation (training/distill_diffusion.py) and ebm 2.0 (training/ebm_denoising.py). `name` is
    (model, version, command line). The error is `loss`'s, by default diffusion_loss's. With `labels`
    the network is class-conditional: each example's class is replaced by "no class" with probability
    `class_dropout`. The learning rate is warmed up, held, and over the last `cooldown_epochs` of
    `args.epochs` brought down linearly to zero (learning_rate_factor). `measure(epochs so far, ema)`
    gives figures to record after an epoch, or none (TrainingRun.add_points). Returns the run and the EMA."""
    if not 0 <= cooldown_epochs <= args.epochs:
        raise SystemExit(f"--cooldown-epochs must be in 0..--epochs ({args.epochs}), not {cooldown_epochs}")
    if loss is None:
        def loss(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor | None, _: int) -> torch.Tensor:
            return diffusion_loss(model, images, generator, labels)
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=WEIGHT_DECAY)
    steps_per_epoch = len(images) // args.batch_size
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: learning_rate_factor(
        step, warmup_steps, (args.epochs - cooldown_epochs) * steps_per_epoch, cooldown_epochs * steps_per_epoch))
    stateful = {"model": model, "ema": ema, "optimizer": optimizer, "schedule": schedule, "generator": generator}
    run = TrainingRun(args, *name, stateful, curves=["train loss"], bf16=native_bf16(args.device))
    for epoch in run.epochs():
        model.train()
        losses = []
        bar = run.batches(len(images), args.batch_size, generator)
        for step, indices in enumerate(bar):
            batch = images[indices]
            flip = torch.rand(len(batch), generator=generator) < 0.5
            batch = torch.where(flip.view(-1, 1, 1, 1), batch.flip(-1), batch)
            batch_labels = None
            if labels is not None:
                dropped = torch.rand(len(batch), generator=generator) < class_dropout
                batch_labels = torch.where(dropped, model.num_classes, labels[indices]).to(run.device)
            with torch.autocast(run.device.split(":")[0], dtype=torch.bfloat16, enabled=run.bf16):
                error = loss(model, normalize(batch.to(run.device)), batch_labels, epoch * len(bar) + step)
            optimizer.zero_grad(set_to_none=True)
            error.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
            optimizer.step()
            schedule.step()
            update_ema(ema, model, warmed_up_decay(epoch * len(bar) + step, EMA_DECAY))
            losses.append(error.item())
            bar.set_postfix(loss=f"{sum(losses[-50:]) / len(losses[-50:]):.4f}")
        run.end_epoch({"train loss": sum(losses) / len(losses)})
        if measure is not None:
            points = measure(run.epoch, ema)
            if points:
                run.add_points(points)
    return run, ema


def learning_rate_factor(step: int, warmup_steps: int, cooldown_start: int, cooldown_steps: int) -> float:
    """The learning rate at optimiser step `step` over the peak: a linear warm-up over `warmup_steps`,
    then constant until `cooldown_start`, then down linearly to zero over `cooldown_steps`. Ending a
    run with such a cooldown matches a cosine schedule of the same length, while the constant
    phase can go on for as long as the curve pays (Hägele et al., 2024)."""
    warmup = min(1.0, (step + 1) / warmup_steps)
    if step < cooldown_start or not cooldown_steps:
        return warmup
    return warmup * max(0.0, 1.0 - (step - cooldown_start) / cooldown_steps)


def optimizer_description(learning_rate: float, warmup_steps: int, cooldown_epochs: int = 0) -> dict[str, str]:
    """The manifest's words for train_noise_predictor's optimiser and EMA."""
    cooldown = f", down linearly to 0 over the last {cooldown_epochs} epochs" if cooldown_epochs else ""
    return {"optimizer": f"AdamW lr {learning_rate} (warm-up {warmup_steps} steps{cooldown}), "
                         f"weight decay {WEIGHT_DECAY}, gradient norm clipped to {GRAD_CLIP}",
            "ema_decay": f"{EMA_DECAY}, warmed up as min({EMA_DECAY}, (1 + step) / (10 + step))"}


def arguments() -> argparse.ArgumentParser:
    parser = training_arguments(__doc__.splitlines()[0], epochs=40)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--widths", type=int, nargs=4, default=[32, 64, 96, 128],
                        help="UNet channels at 32, 16, 8 and 4 pixels")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = arguments().parse_args(argv)
    generator = seed_everything(args.seed)
    images, _ = load_cifar10(args.data_dir, "train")

    spec = network_spec(UNet, widths=args.widths, block_depth=2, embedding_dim=32, groups=8)
    model = build_network(spec).to(args.device)
    run, ema = train_noise_predictor(args, model, images, generator,
                                     ("diffusion", "1.0", command_line("training.diffusion", argv)),
                                     LEARNING_RATE, WARMUP_STEPS)
    run.save(ema, title="Diffusion model (UNet noise predictor)", manifest={
        "architecture": {"network": "UNet noise predictor: residual blocks (GroupNorm, SiLU, noise "
                                    "embedding added in each), skip connections, sinusoidal embedding "
                                    "of the noise variance",
                         "schedule": SCHEDULE, "sampler": "DDIM (eta 0 by default)"},
        "network": spec,
        "sampler": sampler_spec(reverse_diffusion),
        "parameters": parameter_count(model),
        "data": CIFAR10_TRAINING_DATA,
        "training": {"batch_size": args.batch_size, "loss": "mean squared error of the predicted noise",
                     **optimizer_description(LEARNING_RATE, WARMUP_STEPS)},
    }, metrics={})
    samples = model_version("diffusion", "1.0", args.out).sample(ema, Seeds.one(64, 0))
    save_grid(samples, run.output("-samples.png"), columns=8)


if __name__ == "__main__":
    main()
