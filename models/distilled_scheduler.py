"""The few-step sampler of a distilled noise predictor (training/distill_diffusion.py).

Its n network calls sit at the first n of n + 1 equal steps of lambda from t = 1 to t = 0 (the grid
DPM-Solver++ walks, models/dpm_solver.py). Each call's clean-image prediction takes a deterministic
DDIM step to the next time, where the distilled network was taught to land on what its teacher
reaches there in several calls; the last call's prediction is the answer, taught to be the
teacher's answer at t = 0. So n calls walk the whole path, instead of the n - 1 steps of the
teacher's solvers, whose last call is at t = 0.
"""

from __future__ import annotations

import torch

from models.diffusion_schedule import offset_cosine_schedule
from models.dpm_solver import log_snr_grid
from models.seeds import Seeds


class DistilledScheduler:
    """`set_timesteps(n)` fixes the times; `step(...)` turns one noise prediction into the next
    noisy images and the current estimate of the clean images. Deterministic: it adds no noise."""

    def __init__(self) -> None:
        self.timesteps = torch.empty(0)
        self.ends = torch.empty(0)

    def set_timesteps(self, num_steps: int, start: float = 1.0, end: float = 0.0) -> None:
        """The times of the network calls, and in `ends` where each call's step ends, on the path from
        `start` to `end` (a part of it: where a distilled teacher covers one step of its student)."""
        grid = log_snr_grid(num_steps + 1, start, end)
        self.timesteps, self.ends = grid[:-1], grid[1:]

    def step(self, predicted_noise: torch.Tensor, index: int, noisy_images: torch.Tensor,
             seeds: Seeds | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(next noisy images, predicted clean images) after step `index`; after a step that ends at
        t = 0 both are the answer. `seeds` is unused (deterministic), kept for the schedulers' interface."""
        signal, noise = (r.item() for r in offset_cosine_schedule(self.timesteps[index]))
        predicted_images = (noisy_images - noise * predicted_noise) / signal
        if self.ends[index] == 0:
            return predicted_images, predicted_images
        signal_next, noise_next = (r.item() for r in offset_cosine_schedule(self.ends[index]))
        return signal_next * predicted_images + noise_next * predicted_noise, predicted_images
