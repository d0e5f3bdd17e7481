"""Reverse diffusion: from Gaussian noise to CIFAR-10-like images with a noise-predicting network.

The network works on images normalised with the CIFAR-10 channel mean and standard deviation
(models/images.py), as in training; `reverse_diffusion` starts from pure noise in that space and
undoes the normalisation at the end. It keeps the samplers' contract (models/progress.py).

Two schedulers walk the same times: DDIM (models/diffusion_schedule.py), first-order, with `eta`
for fresh noise, and DPM-Solver++(2M) (models/dpm_solver.py), second-order and deterministic. A
network distilled for a few steps (training/distill_diffusion.py) walks its own times
(models/distilled_scheduler.py).
"""

from __future__ import annotations

import torch

from models.diffusion_schedule import DDIMScheduler, offset_cosine_schedule
from models.distilled_scheduler import DistilledScheduler
from models.dpm_solver import DPMSolver2MScheduler
from models.editing import Edit, first_step
from models.guidance import guided_at, guided_noise
from models.images import denormalize
from models.progress import StepCallback
from models.seeds import Seeds

SCHEDULERS = ("ddim", "dpmpp_2m")  # what a request's `sampler` chooses
DISTILLED = "distilled"  # the sampler a distilled network was taught for


def scheduler_settings_error(sampler: str, eta: float, name: str = "eta") -> str | None:
    """Why `eta` (a request's field `name`) does not go with `sampler`, or None: only DDIM adds fresh noise."""
    if sampler != "ddim" and eta != 0:
        return f"'{name}' is {eta}; it applies to the ddim sampler only, and {sampler} takes 0"
    return None


def make_scheduler(sampler: str, eta: float) -> DDIMScheduler | DPMSolver2MScheduler | DistilledScheduler:
    if sampler not in (*SCHEDULERS, DISTILLED):
        raise ValueError(f"sampler must be one of {', '.join((*SCHEDULERS, DISTILLED))}, not {sampler!r}")
    error = scheduler_settings_error(sampler, eta)
    if error is not None:
        raise ValueError(error)
    if sampler == "ddim":
        return DDIMScheduler(eta)
    return DPMSolver2MScheduler() if sampler == "dpmpp_2m" else DistilledScheduler()


@torch.no_grad()
def reverse_diffusion(model: torch.nn.Module, seeds: Seeds, steps: int, on_step: StepCallback | None = None, *,
                      sampler: str, eta: float, image_size: int = 32, labels: torch.Tensor | None = None,
                      guidance: float = 0.0, edit: Edit | None = None) -> torch.Tensor:
    """uint8 images (N, 3, size, size) on the CPU after `steps` steps of `sampler` (one network
    call each), on the model's device. The noise comes from `seeds` on the CPU: the same noise on
    any device. `on_step` sees the current estimate of the clean images. A class-conditional
    network takes `labels` (N,) (None: unconditional) and the classifier-free `guidance` scale,
    applied at the middle noise levels (models/guidance.py). With an `edit` (models/editing.py)
    the steps start from its picture noised to its strength, and an inpainting holds the picture
    outside its mask after each step."""
    device = next(model.parameters()).device
    scheduler = make_scheduler(sampler, eta)
    scheduler.set_timesteps(steps)
    times = scheduler.timesteps
    images = seeds.randn(3, image_size, image_size).to(device)
    labels = None if labels is None else labels.to(device)
    first = 0
    if edit is not None:
        edit = Edit(edit.images.to(device), edit.strength, None if edit.mask is None else edit.mask.to(device))
        first = first_step(times, edit.strength)
        if first == len(times):
            return denormalize(edit.images).cpu()
        images = noised(edit.images, images, times[first])
    for index in range(first, len(times)):
        _, noise_rate = offset_cosine_schedule(times[index])
        noise_variance = torch.full((len(seeds),), noise_rate.item() ** 2, device=device)
        scale = guidance if guided_at(times[index]) else 0.0
        predicted_noise = guided_noise(model, images, noise_variance, labels, scale)
        images, predicted_images = scheduler.step(predicted_noise, index, images, seeds)
        if edit is not None and edit.mask is not None:
            last = index == len(times) - 1
            images = edit.held(images, edit.images if last else
                               noised(edit.images, seeds.randn(3, image_size, image_size).to(device), times[index + 1]))
            predicted_images = edit.held(predicted_images, edit.images)
        if on_step is not None:
            on_step(index + 1 - first, len(times) - first, denormalize(predicted_images))
    return denormalize(images).cpu()


def noised(images: torch.Tensor, noise: torch.Tensor, time: torch.Tensor) -> torch.Tensor:
    """Normalised images as the forward process leaves them at diffusion `time`."""
    signal_rate, noise_rate = offset_cosine_schedule(time)
    return signal_rate.item() * images + noise_rate.item() * noise
