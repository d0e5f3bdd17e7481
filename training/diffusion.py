"""Train the diffusion model: a UNet that predicts the noise added to CIFAR-10 training images.

    python -m training.diffusion --epochs 40 --hours 2 --data-dir data --out weights --resume

Each step takes a batch of training images (randomly flipped, normalised per channel), a random
diffusion time per image, noises them with the offset-cosine schedule and regresses the network's
noise prediction on the true noise (mean squared error). AdamW with a warm-up; an
exponential moving average of the weights (decay 0.999, warmed up) is what gets served. `--hours` ends a run
after the epoch that reaches it, so a long training is done in runs of bounded length, each
continued with `--resume` (the checkpoint holds the network, the EMA, the optimiser and the RNG).
Each run writes `weights/diffusion.pt` (the EMA weights), its manifest, a curve plot and a grid
of 64 samples (50 DDIM steps); `training.evaluate_diffusion` adds the quality metrics.
"""

from __future__ import annotations

import copy

import torch
from torch.nn import functional as F
from tqdm import tqdm

from models.diffusion_sampler import add_noise, normalize, reverse_diffusion
from models.manifest import sha256_of, write_manifest
from models.unet import UNet, UNetConfig
from training.data import bf16_autocast_supported, load_cifar10
from training.ema import update_ema, warmed_up_decay
from training.run import (
    TrainingRun,
    command_line,
    device_description,
    plot_curves,
    save_grid,
    seed_everything,
    training_arguments,
)

BATCH_SIZE = 128
LEARNING_RATE = 1e-3
WARMUP_STEPS = 1000
GRAD_CLIP = 1.0
WEIGHT_DECAY = 1e-4
EMA_DECAY = 0.999


def diffusion_loss(model: torch.nn.Module, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Noise-prediction error on normalised images at random diffusion times."""
    noise = torch.randn(images.shape, generator=generator).to(images.device)
    times = torch.rand(len(images), generator=generator).to(images.device)
    noisy, noise_variance = add_noise(images, noise, times)
    return F.mse_loss(model(noisy, noise_variance).float(), noise)


def main(argv: list[str] | None = None) -> None:
    parser = training_arguments(__doc__.splitlines()[0], epochs=40)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--widths", type=int, nargs=4, default=list(UNetConfig.widths),
                        help="UNet channels at 32, 16, 8 and 4 pixels")
    args = parser.parse_args(argv)
    generator = seed_everything(args.seed)
    bf16 = bf16_autocast_supported(args.device)
    images, _ = load_cifar10(args.data_dir, "train")

    config = UNetConfig(widths=tuple(args.widths))
    model = UNet(config).to(args.device)
    ema = copy.deepcopy(model).eval()
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    warmup = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / WARMUP_STEPS))
    stateful = {"model": model, "ema": ema, "optimizer": optimizer, "warmup": warmup, "generator": generator}
    run = TrainingRun(args, args.checkpoint_dir / "diffusion.pt", stateful, curves=["train loss"])

    steps_per_epoch = len(images) // args.batch_size
    for epoch in run.epochs():
        model.train()
        order = torch.randperm(len(images), generator=generator)
        losses = []
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{args.epochs}")
        for step in bar:
            batch = images[order[step * args.batch_size:(step + 1) * args.batch_size]]
            flip = torch.rand(len(batch), generator=generator) < 0.5
            batch = torch.where(flip.view(-1, 1, 1, 1), batch.flip(-1), batch)
            with torch.autocast(args.device.split(":")[0], dtype=torch.bfloat16, enabled=bf16):
                loss = diffusion_loss(model, normalize(batch.to(args.device)), generator)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
            optimizer.step()
            warmup.step()
            update_ema(ema, model, warmed_up_decay(epoch * steps_per_epoch + step, EMA_DECAY))
            losses.append(loss.item())
            bar.set_postfix(loss=f"{sum(losses[-50:]) / len(losses[-50:]):.4f}")
        run.end_epoch({"train loss": sum(losses) / len(losses)})

    args.out.mkdir(parents=True, exist_ok=True)
    weights = args.out / "diffusion.pt"
    torch.save(ema.state_dict(), weights)
    plot_curves(run.history, args.out / "diffusion-curve.png", "Diffusion model (UNet noise predictor)")
    save_grid(reverse_diffusion(ema, 64, 50, seed=0), args.out / "diffusion-samples.png", columns=8)
    write_manifest(args.out / "diffusion.json", {
        "model": "diffusion",
        "version": "1.0",
        "architecture": {"network": "UNet noise predictor: residual blocks (GroupNorm, SiLU, noise "
                                    "embedding added in each), skip connections, sinusoidal embedding "
                                    "of the noise variance",
                         "widths": list(config.widths), "block_depth": config.block_depth,
                         "embedding_dim": config.embedding_dim,
                         "schedule": "offset cosine, signal rate 0.95 (t=0) to 0.02 (t=1)",
                         "sampler": "DDIM (eta 0 by default)"},
        "parameters": sum(p.numel() for p in model.parameters()),
        "data": {"set": "CIFAR-10 as JPEG (../shared/data/cifar10-jpeg.tar.gz)",
                 "train": "50,000 training images, random horizontal flips",
                 "normalization": "per-channel CIFAR-10 mean and std (models/cifar10.py)"},
        "training": {"epochs": run.epoch, "batch_size": args.batch_size, "seed": args.seed,
                     "optimizer": f"AdamW lr {LEARNING_RATE} (warm-up {WARMUP_STEPS} steps), "
                                  f"weight decay {WEIGHT_DECAY}, gradient norm clipped to {GRAD_CLIP}",
                     "loss": "mean squared error of the predicted noise",
                     "ema_decay": f"{EMA_DECAY}, warmed up as min({EMA_DECAY}, (1 + step) / (10 + step))",
                     "bf16_autocast": bf16, "runs": run.runs()},
        "command": command_line("training.diffusion"),
        "seconds": round(run.seconds),
        "device": device_description(args.device, bf16),
        "metrics": {},
        "weights": {"file": weights.name, "sha256": sha256_of(weights)},
    })
    print(f"wrote {weights}")


if __name__ == "__main__":
    main()
