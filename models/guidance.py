"""Classifier-free guidance (Ho & Salimans, 2022): a class-conditional noise predictor, trained with
the class dropped for some examples, predicts the noise both with the asked class and with none;
guidance moves the prediction away from the unconditional one,

    noise = conditional + scale * (conditional - unconditional),

so scale 0 is plain conditional sampling. Both predictions come from one network call on a batch
twice the size.

Guidance applies only at the middle noise levels, log-SNR in GUIDED_LOG_SNR (Kynkaenniemi et al.,
2024, "Applying Guidance in a Limited Interval Improves Sample and Distribution Quality in Diffusion
Models"): at high noise it pulls samples of a class towards a few typical pictures, at low noise it
changes little; elsewhere a step is plain conditional, one call on a batch of the usual size. Of the
served 10 DPM-Solver++(2M) steps, 5 are guided.
"""

from __future__ import annotations

import torch

from models.diffusion_schedule import log_snr

GUIDED_LOG_SNR = (-2.5, 0.5)


def guided_at(time: torch.Tensor) -> bool:
    """Whether guidance applies to a step from diffusion `time` (models/diffusion_schedule.py)."""
    low, high = GUIDED_LOG_SNR
    return low < log_snr(time).item() <= high


def guided_steps(times: torch.Tensor) -> int:
    """How many steps from these times are guided: each costs a second network evaluation."""
    return sum(guided_at(time) for time in times)


def guided_noise(model: torch.nn.Module, noisy_images: torch.Tensor, noise_variance: torch.Tensor,
                 labels: torch.Tensor | None, scale: float) -> torch.Tensor:
    """The noise `model` predicts in `noisy_images` (N, 3, H, W) for `labels` (N,) (None: no class),
    guided by `scale` where there are labels."""
    if labels is None:
        return model(noisy_images, noise_variance)
    if scale == 0:
        return model(noisy_images, noise_variance, labels)
    no_class = torch.full_like(labels, model.num_classes)
    both = model(torch.cat([noisy_images, noisy_images]), torch.cat([noise_variance, noise_variance]),
                 torch.cat([labels, no_class]))
    conditional, unconditional = both.chunk(2)
    return conditional + scale * (conditional - unconditional)
