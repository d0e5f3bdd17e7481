"""Distil diffusion 2.0 into a network that samples in a few calls (models/distilled_scheduler.py).

    python -m training.distill_diffusion --steps 4 --epochs 8 --cooldown-epochs 4 --hours 2 --out distilled --resume

The student starts as a copy of its teacher (`--teacher`, a weights manifest: diffusion 2.0's), or of
another student (`--student`: diffusion 2.2 started from 2.1, which already samples in 4 calls). Each
batch trains one of the student's `--steps` steps, from t_i to t_i+1 of its grid, on training
images noised to t_i (as progressive distillation does; Salimans & Ho, 2022). The teacher carries
them to t_i+1 in `--substeps` DPM-Solver++(2M) calls (for the last step: on to its answer at t = 0);
the student's one call must land there by a DDIM step. Its error is measured where it lands, in
units of the noise left there (the last step's on the answer, in units of the noise at t = 0), so
that every step weighs alike although a noise-predicting network's clean-image estimate is 50
times less certain at t = 1 than its next noisy image. Unlike progressive distillation, the teacher
covers a whole step at once with a second-order solver, instead of halving the steps round by round.
A distilled teacher (a student's manifest as `--teacher`) covers it in its own calls, its grid
nesting in the student's: a 4-call student teaches a 2-call one, which teaches a 1-call one.

Labels as in diffusion 2.0's training: each image's class, or "no class" for CLASS_DROPOUT of them.
The teacher is guided at `--guidance` (2.0's served default) on its guided interval, so the student
learns guided sampling at one call a step and is asked without guidance. The learning rate is held,
then brought down to zero over the last `--cooldown-epochs`; the EMA of the weights is the student.
Every `--kid-every` epochs, KID at 2,000 samples of the student at its own sampler (as diffusion 2.0's
training records it) goes into the checkpoint and manifest.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import torch

from models.catalog import model_version
from models.cifar10 import CLASSES
from models.diffusion_sampler import DISTILLED, reverse_diffusion
from models.diffusion_schedule import offset_cosine_schedule
from models.distilled_scheduler import DistilledScheduler
from models.dpm_solver import DPMSolver2MScheduler
from models.guidance import guided_at, guided_noise
from models.loader import load_network, sampler_spec
from training.data import load_cifar10
from training.diffusion import CIFAR10_TRAINING_DATA, optimizer_description, train_noise_predictor
from training.diffusion_conditional import CLASS_DROPOUT, draw, kid_curve
from training.run import command_line, parameter_count, save_grid, seed_everything, training_arguments

STUDENT_VERSION = "2.1"  # diffusion 2.0, distilled
BATCH_SIZE = 128
LEARNING_RATE = 1e-4
WARMUP_STEPS = 200


def arguments() -> argparse.ArgumentParser:
    parser = training_arguments(__doc__.splitlines()[0], epochs=8)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--teacher", type=Path, default=Path("weights/diffusion-v2.0.json"),
                        help="the weights manifest of the class-conditional UNet to distil")
    parser.add_argument("--student", type=Path,
                        help="the weights manifest the student starts from (default: a copy of the teacher)")
    parser.add_argument("--version", default=STUDENT_VERSION, help="the student's version")
    parser.add_argument("--steps", type=int, default=4, help="the student's network calls a sample")
    parser.add_argument("--substeps", type=int, default=2,
                        help="the teacher's calls for one student step (a distilled teacher's: its calls / --steps)")
    parser.add_argument("--guidance", type=float, default=model_version("diffusion", "2.0").defaults["guidance"],
                        help="the teacher's guidance scale for labelled examples (a distilled teacher's was taught)")
    parser.add_argument("--cooldown-epochs", type=int, default=4,
                        help="the last epochs, over which the learning rate goes down linearly to zero")
    parser.add_argument("--kid-every", type=int, default=2, help="epochs between KID points (0: none)")
    return parser


@torch.no_grad()
def teacher_landing(teacher: torch.nn.Module, noisy: torch.Tensor, start: float, end: float, substeps: int,
                    labels: torch.Tensor, guidance: float, distilled: bool = False) -> torch.Tensor:
    """Where the teacher takes `noisy` images (at time `start`) in `substeps` calls: its noisy
    images at `end`, or, where `end` is 0, its answer there. A noise predictor walks by
    DPM-Solver++(2M) (one call more to answer at 0); a `distilled` teacher by its own few-step
    sampler, unguided (its guidance was taught)."""
    if distilled:
        scheduler, calls, guidance = DistilledScheduler(), substeps, 0.0
        scheduler.set_timesteps(substeps, start, end)
    else:
        scheduler, calls = DPMSolver2MScheduler(), substeps + 1 if end == 0 else substeps
        scheduler.set_timesteps(substeps + 1, start, end)
    answer = noisy
    for index in range(calls):
        time = scheduler.timesteps[index]
        variance = torch.full((len(noisy),), offset_cosine_schedule(time)[1].item() ** 2, device=noisy.device)
        noise = guided_noise(teacher, noisy, variance, labels, guidance if guided_at(time) else 0.0)
        noisy, answer = scheduler.step(noise, index, noisy)
    return answer if end == 0 else noisy


def distillation_loss(student: torch.nn.Module, teacher: torch.nn.Module, images: torch.Tensor,
                      labels: torch.Tensor, grid: DistilledScheduler, index: int, substeps: int, guidance: float,
                      generator: torch.Generator, distilled_teacher: bool = False) -> torch.Tensor:
    """The student's error on its step `index` of `grid` from normalised `images` noised to its
    start, against the teacher's landing, in units of the noise where it lands."""
    start, end = grid.timesteps[index].item(), grid.ends[index].item()
    signal, noise = (r.item() for r in offset_cosine_schedule(torch.tensor(start)))
    noisy = signal * images + noise * torch.randn(images.shape, generator=generator).to(images.device)
    target = teacher_landing(teacher, noisy, start, end, substeps, labels, guidance, distilled_teacher)
    variance = torch.full((len(images),), noise ** 2, device=images.device)
    predicted_noise = student(noisy, variance, labels).float()
    predicted_images = (noisy - noise * predicted_noise) / signal
    signal_end, noise_end = (r.item() for r in offset_cosine_schedule(torch.tensor(end)))
    if end == 0:
        error = (predicted_images - target) * signal_end / noise_end
    else:
        error = (signal_end * predicted_images + noise_end * predicted_noise - target) / noise_end
    return error.pow(2).mean()


def main(argv: list[str] | None = None) -> None:
    args = arguments().parse_args(argv)
    generator = seed_everything(args.seed)
    images, labels = load_cifar10(args.data_dir, "train")
    teacher, teacher_manifest = load_network(args.teacher, args.device)
    taught = teacher_manifest.get("training", {}).get("teacher")  # a distilled teacher's own teacher
    substeps, guidance = args.substeps, args.guidance
    if taught is not None:
        if teacher_manifest["training"]["steps"] % args.steps:
            raise SystemExit(f"--steps {args.steps} must divide the distilled teacher's "
                             f"{teacher_manifest['training']['steps']} calls")
        substeps, guidance = teacher_manifest["training"]["steps"] // args.steps, taught["guidance"]
    start, start_manifest = (teacher, teacher_manifest) if args.student is None else load_network(args.student,
                                                                                                   args.device)
    student = copy.deepcopy(start).requires_grad_(True)
    grid = DistilledScheduler()
    grid.set_timesteps(args.steps)

    def loss(network: torch.nn.Module, batch: torch.Tensor, classes: torch.Tensor | None, step: int) -> torch.Tensor:
        """Each batch trains the next of the student's steps, in turn."""
        return distillation_loss(network, teacher, batch, classes, grid, step % args.steps, substeps,
                                 guidance, generator, distilled_teacher=taught is not None)

    sampler = {"sampler": DISTILLED, "eta": 0.0, "steps": args.steps}
    run, ema = train_noise_predictor(args, student, images, generator,
                                     ("diffusion", args.version, command_line("training.distill_diffusion", argv)),
                                     LEARNING_RATE, WARMUP_STEPS, labels=labels, class_dropout=CLASS_DROPOUT,
                                     loss=loss, cooldown_epochs=args.cooldown_epochs,
                                     measure=kid_curve(args.data_dir, images, args.kid_every, args.device, sampler))
    run.save(ema, title=f"Diffusion {args.version} ({args.steps}-step student of 2.0)", manifest={
        "architecture": {"network": "diffusion 2.0's UNet, distilled", "sampler": f"{args.steps} calls "
                         "(models/distilled_scheduler.py)"},
        "network": teacher_manifest["network"],
        "sampler": sampler_spec(reverse_diffusion),
        "parameters": parameter_count(student),
        "data": {**CIFAR10_TRAINING_DATA, "labels": "the CIFAR-10 class of each image"},
        "training": {"batch_size": args.batch_size, "steps": args.steps, "teacher_substeps": substeps,
                     # A distilled teacher's own teacher nests in it, down to the network first distilled.
                     "teacher": {"file": args.teacher.name, "weights_sha256": teacher_manifest["weights"]["sha256"],
                                 "sampler": "dpmpp_2m" if taught is None else DISTILLED, "guidance": guidance,
                                 **({} if taught is None else {"steps": teacher_manifest["training"]["steps"],
                                                               "seconds": teacher_manifest["seconds"],
                                                               "teacher": taught})},
                     "student_start": {"file": (args.student or args.teacher).name,
                                       "weights_sha256": start_manifest["weights"]["sha256"]},
                     "loss": "squared error of where the student's DDIM step lands against the teacher's, "
                             "over the noise rate there",
                     "class_dropout": CLASS_DROPOUT,
                     **optimizer_description(LEARNING_RATE, WARMUP_STEPS, args.cooldown_epochs)},
    }, metrics={})
    rows = 8
    grid_labels = torch.arange(len(CLASSES)).repeat_interleave(rows)
    save_grid(draw(ema, len(grid_labels), grid_labels, sampler=sampler), run.output("-samples.png"), columns=rows)


if __name__ == "__main__":
    main()
