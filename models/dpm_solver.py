"""DPM-Solver++(2M): a second-order multistep solver of the diffusion ODE (Lu et al., 2022,
"DPM-Solver++: Fast Solver for Guided Sampling of Diffusion Probabilistic Models", algorithm 2).

It walks the same times as `DDIMScheduler` (models/diffusion_schedule.py) and has the same
interface. In log signal-to-noise ratio lambda = log(signal_rate / noise_rate), one step from
time s to the next time t with h = lambda_t - lambda_s is

    x_t = (noise_t / noise_s) x_s - signal_t (exp(-h) - 1) D,

where D is the predicted clean image at s for the first step (which makes it exactly a
deterministic DDIM step) and, after that, a linear extrapolation of the last two predictions,
    D = (1 + 1 / (2 r)) x0_s - 1 / (2 r) x0_previous,   r = h_previous / h,
which makes the solver second-order at one network call per step.

Its n network calls sit at n equal steps of lambda from t = 1 down to t = 0 inclusive (the spacing
DPM-Solver's authors recommend for low-resolution images; equal steps of t put its largest steps of
lambda next to t = 1), and the answer is the clean-image prediction at t = 0, the least noisy time
the network was trained on. DDIM's n calls stop at t = 1/n instead: with 20 steps its last
prediction starts from noise rate 0.37, against 0.31 at t = 0.
"""

from __future__ import annotations

import math

import torch

from models.diffusion_schedule import log_snr, offset_cosine_schedule, time_of_log_snr
from models.seeds import Seeds


class DPMSolver2MScheduler:
    """`set_timesteps(n)` fixes the times; `step(...)` turns one noise prediction into the next
    noisy images and the current estimate of the clean images. Deterministic: it adds no noise."""

    def __init__(self) -> None:
        self.timesteps = torch.empty(0)
        self.previous: tuple[float, torch.Tensor] | None = None  # (h, predicted images) of the last step

    def set_timesteps(self, num_steps: int, start: float = 1.0, end: float = 0.0) -> None:
        """The times of the network calls: equal steps of lambda from t = `start` to t = `end` (just
        `start` for one step). A part of the path (training/distill_diffusion.py) ends at `end` < `start`."""
        self.timesteps = log_snr_grid(num_steps, start, end)
        self.previous = None

    def step(self, predicted_noise: torch.Tensor, index: int, noisy_images: torch.Tensor,
             seeds: Seeds | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(next noisy images, predicted clean images) after step `index` of `timesteps`;
        `seeds` is unused (the solver is deterministic) and kept for the schedulers' interface."""
        t = self.timesteps[index]
        signal, noise = (r.item() for r in offset_cosine_schedule(t))
        predicted_images = (noisy_images - noise * predicted_noise) / signal
        if index == len(self.timesteps) - 1:
            return predicted_images, predicted_images
        signal_next, noise_next = (r.item() for r in offset_cosine_schedule(self.timesteps[index + 1]))
        h = math.log(signal_next / noise_next) - math.log(signal / noise)
        if self.previous is None:
            direction = predicted_images
        else:
            h_previous, previous_images = self.previous
            r = h_previous / h
            direction = (1 + 1 / (2 * r)) * predicted_images - 1 / (2 * r) * previous_images
        self.previous = (h, predicted_images)
        next_images = noise_next / noise * noisy_images - signal_next * math.expm1(-h) * direction
        return next_images, predicted_images


def log_snr_grid(num_points: int, start: float = 1.0, end: float = 0.0) -> torch.Tensor:
    """`num_points` diffusion times at equal steps of lambda from `start` to `end` inclusive (just
    `start` for one point), float64, the ends exact."""
    if num_points < 1:
        raise ValueError(f"num_points must be at least 1, not {num_points}")
    ends = torch.tensor([start, end], dtype=torch.float64)
    times = time_of_log_snr(torch.linspace(*log_snr(ends).tolist(), num_points, dtype=torch.float64))
    times[0] = start  # exactly, not up to rounding
    if num_points > 1:
        times[-1] = end
    return times
