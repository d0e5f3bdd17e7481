"""Train ebm 2.0: a noise-conditional energy by denoising score matching on CIFAR-10.

    python -m training.ebm_denoising --epochs 10 --hours 2 --data-dir data --out weights --resume

The energy (models/noise_conditional_energy.py) is trained as the diffusion model's UNet is
(training/diffusion.py: random flips, the offset-cosine schedule, AdamW with a warm-up, an EMA of
the weights, which is what gets served), with a smaller learning rate and a shorter warm-up since
it starts from trained weights, and with σ ∇ₓE, taken by autograd, as its noise prediction, so
every step differentiates through a gradient. Its UNet starts from the diffusion
model's weights (`--init`, a weights manifest; `--init none` starts from random weights). Each run
writes `weights/ebm-v2.0.pt`, its manifest, a curve plot and a grid of 64 samples drawn with the
served settings (archive/ebm/model-config.yaml, version 2.0); `training.evaluate_ebm` adds the
quality metrics.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import torch

from models.annealed_langevin import annealed_langevin
from models.loader import build_network, load_network, network_spec
from models.noise_conditional_energy import EnergyNoisePredictor, NoiseConditionalEnergy
from training.data import bf16_autocast_supported, load_cifar10
from training.diffusion import EMA_DECAY, GRAD_CLIP, WEIGHT_DECAY, train_noise_predictor
from training.model_config import served_defaults
from training.run import TrainingRun, command_line, parameter_count, save_grid, seed_everything, training_arguments

BATCH_SIZE = 128
LEARNING_RATE = 2e-4
WARMUP_STEPS = 500


def arguments() -> argparse.ArgumentParser:
    parser = training_arguments(__doc__.splitlines()[0], epochs=10)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--init", default="weights/diffusion-v1.0.json",
                        help="the weights manifest of a UNet or of an energy to start from, or 'none'")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = arguments().parse_args(argv)
    generator = seed_everything(args.seed)
    bf16 = bf16_autocast_supported(args.device)
    images, _ = load_cifar10(args.data_dir, "train")

    if args.init == "none":
        spec = network_spec(NoiseConditionalEnergy)
        energy = build_network(spec)
    else:  # a UNet noise predictor, or an energy trained before (a later session goes on from its weights)
        start, start_manifest = load_network(Path(args.init))
        spec = network_spec(NoiseConditionalEnergy, **start_manifest["network"]["args"])
        energy = build_network(spec)
        (energy if isinstance(start, NoiseConditionalEnergy) else energy.unet).load_state_dict(start.state_dict())
    model = EnergyNoisePredictor(energy.to(args.device).requires_grad_(True), create_graph=True)
    ema = copy.deepcopy(model).requires_grad_(False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    warmup = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / WARMUP_STEPS))
    stateful = {"model": model, "ema": ema, "optimizer": optimizer, "warmup": warmup, "generator": generator}
    run = TrainingRun(args, "ebm", "2.0", command_line("training.ebm_denoising", argv), stateful,
                      curves=["train loss"], bf16=bf16)
    train_noise_predictor(run, model, ema, optimizer, warmup, images, generator, args.batch_size)

    run.save(ema.energy, title="ebm 2.0 (noise-conditional energy, denoising score matching)", manifest={
        "architecture": {"network": NoiseConditionalEnergy.__doc__ + " E(x, s^2) = <x, g(x, s^2)> / (2 s), g a "
                                    "UNet (the diffusion model's design); the noise it implies is s dE/dx",
                         "schedule": "offset cosine, signal rate 0.95 (t=0) to 0.02 (t=1)",
                         "sampler": "annealed Langevin dynamics on dE/dx, one step a noise level "
                                    "(models/annealed_langevin.py)"},
        "network": spec,
        "parameters": parameter_count(energy),
        "data": {"set": "CIFAR-10 as JPEG (../shared/data/cifar10-jpeg.tar.gz)",
                 "train": "50,000 training images, random horizontal flips",
                 "normalization": "per-channel CIFAR-10 mean and std (models/images.py)"},
        "training": {"batch_size": args.batch_size, "init": args.init,
                     "optimizer": f"AdamW lr {LEARNING_RATE} (warm-up {WARMUP_STEPS} steps), "
                                  f"weight decay {WEIGHT_DECAY}, gradient norm clipped to {GRAD_CLIP}",
                     "loss": "denoising score matching: mean squared error of s dE/dx against the added noise",
                     "ema_decay": f"{EMA_DECAY}, warmed up as min({EMA_DECAY}, (1 + step) / (10 + step))"},
    }, metrics={})
    served = served_defaults("ebm", "2.0")
    samples = annealed_langevin(ema.energy, 64, 0, served["steps"], step_size=served["step_size"],
                                noise=served["noise"])
    save_grid(samples, run.output("-samples.png"), columns=8)


if __name__ == "__main__":
    main()
