"""Classifier-free guidance (Ho & Salimans, 2022): a class-conditional noise predictor, trained with
the class dropped for some examples, predicts the noise both with the asked class and with none;
guidance moves the prediction away from the unconditional one,

    noise = conditional + scale * (conditional - unconditional),

so scale 0 is plain conditional sampling. Both predictions come from one network call on a batch
twice the size.
"""

from __future__ import annotations

import torch


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
