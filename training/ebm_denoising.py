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
from pathlib import Path

from models.annealed_langevin import annealed_langevin
from models.catalog import model_version
from models.loader import build_network, load_network, network_spec, sampler_spec
from models.noise_conditional_energy import EnergyNoisePredictor, NoiseConditionalEnergy
from models.seeds import Seeds
from training.data import load_cifar10
from training.diffusion import CIFAR10_TRAINING_DATA, SCHEDULE, optimizer_description, train_noise_predictor
from training.run import command_line, parameter_count, save_grid, seed_everything, training_arguments

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
    run, ema = train_noise_predictor(args, model, images, generator,
                                     ("ebm", "2.0", command_line("training.ebm_denoising", argv)),
                                     LEARNING_RATE, WARMUP_STEPS)

    run.save(ema.energy, title="ebm 2.0 (noise-conditional energy, denoising score matching)", manifest={
        "architecture": {"network": NoiseConditionalEnergy.__doc__ + " E(x, s^2) = <x, g(x, s^2)> / (2 s), g a "
                                    "UNet (the diffusion model's design); the noise it implies is s dE/dx",
                         "schedule": SCHEDULE,
                         "sampler": "annealed Langevin dynamics on dE/dx, one step a noise level "
                                    "(models/annealed_langevin.py)"},
        "network": spec,
        "sampler": sampler_spec(annealed_langevin),
        "parameters": parameter_count(energy),
        "data": CIFAR10_TRAINING_DATA,
        "training": {"batch_size": args.batch_size, "init": args.init,
                     "loss": "denoising score matching: mean squared error of s dE/dx against the added noise",
                     **optimizer_description(LEARNING_RATE, WARMUP_STEPS)},
    }, metrics={})
    samples = model_version("ebm", "2.0", args.out).sample(ema.energy, Seeds.one(64, 0))
    save_grid(samples, run.output("-samples.png"), columns=8)


if __name__ == "__main__":
    main()
