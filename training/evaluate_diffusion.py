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

from models.diffusion_sampler import reverse_diffusion
from models.loader import load_network
from models.manifest import manifest_name, weights_name
from training.model_config import served_defaults
from training.sample_quality import content_hash
from training.sampler_evaluation import SAMPLES_PER_SEED, evaluate_sampler, sampler_arguments, samples_by_seed


def arguments() -> argparse.ArgumentParser:
    return sampler_arguments(__doc__.splitlines()[0], served_defaults("diffusion", "1.0")["diffusion_steps"])


def main(argv: list[str] | None = None) -> None:
    args = arguments().parse_args(argv)
    eta = served_defaults("diffusion", "1.0")["eta"]
    manifest_path = args.weights_dir / manifest_name("diffusion", "1.0")
    model, _ = load_network(manifest_path, args.device)

    def sample(count: int, steps: int):
        return samples_by_seed(lambda seed: reverse_diffusion(model, SAMPLES_PER_SEED, seed, steps, eta=eta), count,
                               f"sampling ({steps} steps)")

    def cache_name(count: int, steps: int) -> str:
        # eta is named only where it is not 0, so the sets cached when it was always 0 keep their names.
        name = f"diffusion-{content_hash(model.state_dict().values())}-{steps}-steps-{count}"
        return name + (f"-eta-{eta}" if eta else "")

    nearest = args.weights_dir / f"{weights_name('diffusion', '1.0')}-nearest.png"
    evaluate_sampler(args, manifest_path, nearest, sample, cache_name, f"DDIM, eta {eta:g}")


if __name__ == "__main__":
    main()
