"""Evaluate the diffusion model and write the results into its manifest.

    python -m training.evaluate_diffusion --data-dir data --weights-dir weights [--sampler dpmpp_2m]

With the served sampler and eta (archive/diffusion/model-config.yaml) unless `--sampler` says
otherwise (another sampler takes eta 0, and its metrics' names end in _<sampler>), in fp32 unless
`--precision bf16` says otherwise (autocast, as a worker with native bf16 runs it; the metrics'
names end in _bf16, so the same seeds' KID can be read beside fp32's):
- quality against the number of steps (10, 20, 50, 100) on 2,000 samples each, with the
  real-vs-real floor at that size;
- FID and KID of 10,000 samples at the served steps against 10,000 CIFAR-10 training images, next
  to the real-vs-real floor (the test images scored the same way); `--fid-samples 0` skips them;
- the copy check: samples' nearest training images (weights/diffusion-v1.0-nearest.png).
Samples are drawn as the server draws them, 100 per seed (seeds 0, 1, 2, ...). Each result goes
into the manifest as soon as it is measured, and samples and features are cached, so a stopped
evaluation, run again, resumes from the last sample set it completed.
"""

from __future__ import annotations

import argparse

import torch

from models.catalog import model_version
from models.diffusion_sampler import SCHEDULERS
from models.loader import load_network
from models.manifest import weights_name
from models.precision import autocast
from models.seeds import Seeds
from training.evaluation import SAMPLES_PER_SEED, samples_by_seed
from training.sample_quality import content_hash
from training.sampler_evaluation import evaluate_sampler, sampler_arguments


def arguments() -> argparse.ArgumentParser:
    served = model_version("diffusion", "1.0").defaults
    parser = sampler_arguments(__doc__.splitlines()[0], served["diffusion_steps"])
    parser.add_argument("--sampler", choices=SCHEDULERS, default=served["sampler"])
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = arguments().parse_args(argv)
    entry = model_version("diffusion", "1.0", args.weights_dir)
    served, draw_samples = entry.defaults, entry.sampling_function()
    eta = served["eta"] if args.sampler == served["sampler"] else 0.0
    manifest_path = entry.manifest_path
    model, _ = load_network(manifest_path, args.device)

    def sample(count: int, steps: int):
        def draw(seed: int):
            with autocast(args.precision, torch.device(args.device)):
                return draw_samples(model, Seeds.one(SAMPLES_PER_SEED, seed), steps, sampler=args.sampler, eta=eta)
        return samples_by_seed(draw, count, f"sampling ({steps} steps)")

    def cache_name(count: int, steps: int) -> str:
        # DDIM's eta 0 is named by nothing, so the sets cached before the other sampler keep their names.
        name = f"diffusion-{content_hash(model.state_dict().values())}-{steps}-steps-{count}"
        name += (f"-eta-{eta}" if eta else "") + ("" if args.sampler == "ddim" else f"-{args.sampler}")
        return name + ("" if args.precision == "fp32" else f"-{args.precision}")

    nearest = args.weights_dir / f"{weights_name('diffusion', '1.0')}-nearest.png"
    settings = f"DDIM, eta {eta:g}" if args.sampler == "ddim" else "DPM-Solver++(2M), calls at equal steps of log-SNR"
    suffix = "" if args.sampler == "ddim" else f"_{args.sampler}"
    if args.precision != "fp32":
        settings, suffix = f"{settings}, {args.precision} autocast", f"{suffix}_{args.precision}"
    evaluate_sampler(args, manifest_path, nearest, sample, cache_name, settings, suffix)

if __name__ == "__main__":
    main()
