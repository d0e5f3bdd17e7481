"""The noise schedule and the reverse-diffusion step, apart from the network (as diffusers' schedulers).

Diffusion time t runs from 0 (clean image) to 1 (pure noise). A noisy image is
    x_t = signal_rate(t) * x_0 + noise_rate(t) * noise,   signal_rate^2 + noise_rate^2 = 1.
The offset-cosine schedule (Nichol & Dhariwal, 2021; as in the Keras DDIM example) makes the angle
arccos(signal_rate) grow linearly in t between arccos(0.95) and arccos(0.02): even at t = 1 a
trace of signal is left, and at t = 0 a trace of noise, which keeps the network's inputs bounded.

`DDIMScheduler` walks t from 1 down to 0 in a chosen number of equal steps (Song et al., 2021).
With eta = 0 each step is deterministic; eta = 1 adds as much fresh noise as DDPM's ancestral
sampler would.
"""

from __future__ import annotations

import math

import torch

from models.seeds import Seeds

MIN_SIGNAL_RATE = 0.02
MAX_SIGNAL_RATE = 0.95


def offset_cosine_schedule(diffusion_times: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(signal_rates, noise_rates) at the diffusion times, each of the same shape."""
    start_angle = math.acos(MAX_SIGNAL_RATE)
    end_angle = math.acos(MIN_SIGNAL_RATE)
    angles = start_angle + diffusion_times * (end_angle - start_angle)
    return torch.cos(angles), torch.sin(angles)


def log_snr(diffusion_times: torch.Tensor) -> torch.Tensor:
    """lambda = log(signal_rate / noise_rate) at the diffusion times: falls from 1.12 at t = 0 to
    -3.91 at t = 1."""
    signal_rates, noise_rates = offset_cosine_schedule(diffusion_times)
    return torch.log(signal_rates / noise_rates)


def time_of_log_snr(log_snrs: torch.Tensor) -> torch.Tensor:
    """The diffusion times at which log_snr takes these values (its inverse)."""
    start_angle = math.acos(MAX_SIGNAL_RATE)
    end_angle = math.acos(MIN_SIGNAL_RATE)
    return (torch.atan(torch.exp(-log_snrs)) - start_angle) / (end_angle - start_angle)


class DDIMScheduler:
    """`set_timesteps(n)` fixes the times; `step(...)` turns one noise prediction into the next
    noisy images and the current estimate of the clean images."""

    def __init__(self, eta: float = 0.0) -> None:
        if not 0.0 <= eta <= 1.0:
            raise ValueError(f"eta must be in 0..1, not {eta}")
        self.eta = eta
        self.timesteps = torch.empty(0)

    def set_timesteps(self, num_steps: int) -> None:
        """The times each step starts from: 1, 1 - 1/n, ..., 1/n (the last step lands on 0)."""
        if num_steps < 1:
            raise ValueError(f"num_steps must be at least 1, not {num_steps}")
        self.timesteps = 1.0 - torch.arange(num_steps, dtype=torch.float64) / num_steps

    def step(self, predicted_noise: torch.Tensor, index: int, noisy_images: torch.Tensor,
             seeds: Seeds | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(next noisy images, predicted clean images) after step `index` of `timesteps`; fresh
        noise (eta > 0) comes from `seeds` (the global RNG if None)."""
        t = self.timesteps[index]
        t_next = t - 1.0 / len(self.timesteps)
        signal, noise = (r.item() for r in offset_cosine_schedule(t))
        predicted_images = (noisy_images - noise * predicted_noise) / signal
        if index == len(self.timesteps) - 1:
            return predicted_images, predicted_images
        signal_next, noise_next = (r.item() for r in offset_cosine_schedule(t_next))
        # sigma^2 = eta^2 (1 - a_next) / (1 - a) * (1 - a / a_next), with a = signal^2 (DDIM eq. 16)
        sigma = self.eta * noise_next / noise * math.sqrt(max(0.0, 1.0 - (signal / signal_next) ** 2))
        next_images = signal_next * predicted_images + math.sqrt(noise_next ** 2 - sigma ** 2) * predicted_noise
        if sigma > 0:
            # On the CPU: the same on every device.
            fresh = seeds.randn(*noisy_images.shape[1:]) if seeds is not None else torch.randn(noisy_images.shape)
            next_images = next_images + sigma * fresh.to(noisy_images.device)
        return next_images, predicted_images


def add_noise(images: torch.Tensor, noise: torch.Tensor, diffusion_times: torch.Tensor
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """(noisy images, their noise variance) at the given times (N,): the forward process."""
    signal_rates, noise_rates = offset_cosine_schedule(diffusion_times)
    noisy = signal_rates.view(-1, 1, 1, 1) * images + noise_rates.view(-1, 1, 1, 1) * noise
    return noisy, noise_rates ** 2
