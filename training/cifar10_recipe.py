"""The training recipe of cifar10 3.0 (models/cifar10.py `WhitenedNet`), after the ingredients that
airbench94 (Keller Jordan, 2024) and hlb-CIFAR10 (Tysam, 2023) document for 94% in about ten epochs:

- the first layer's filters whiten 2x2 patches of 5,000 training images drawn at random (the
  eigenvectors of their covariance, scaled by the eigenvalues, each with its negative), fixed; its
  bias trains for the first `WHITEN_BIAS_EPOCHS` epochs only;
- Nesterov SGD, momentum 0.85, batches of 1024 (BATCH_SIZE), label smoothing 0.2, with the step size and weight decay
  stated per 1024 examples and apart from the momentum (the lr divided by 1 + 1 / (1 - momentum));
  BatchNorm shifts learn 64 times faster; a triangular schedule (0.2 -> 1 at 23% of the steps -> 0.07);
- lookahead: from epoch 3, every 5 steps the weights are pulled to (and replaced by) an average of
  themselves, whose decay grows over training;
- random 2-pixel translations (reflect-padded) and alternating flips: a random half of the images is
  mirrored once, and every other epoch all of them are, so each image is seen both ways in turn.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from models.cifar10 import WhitenedNet, preprocess
from training.run import TrainingRun

BATCH_SIZE = 1024
MOMENTUM = 0.85
LR_PER_1024 = 11.5
WEIGHT_DECAY_PER_1024 = 0.0153
BIAS_LR_SCALE = 64.0
LABEL_SMOOTHING = 0.2
WHITEN_BIAS_EPOCHS = 3
LOOKAHEAD = {"start_epoch": 3, "every_steps": 5, "decay": 0.95, "power": 3.0}
TRANSLATE = 2
WHITENING_IMAGES = 5000
SCHEDULE = (0.2, 0.23, 0.07)  # the lr's multiplier at the start, where it peaks (a fraction of the steps), at the end


def whitening_filters(images: torch.Tensor, kernel: int, eps: float = 5e-4) -> torch.Tensor:
    """(2 * 3 * kernel^2, 3, kernel, kernel) filters that whiten the kernel x kernel patches of
    normalised images (N, 3, H, W): the covariance's eigenvectors over the square root of their
    eigenvalues, largest first, then the same negated."""
    patches = images.unfold(2, kernel, 1).unfold(3, kernel, 1).permute(0, 2, 3, 1, 4, 5).reshape(-1, 3 * kernel ** 2)
    covariance = patches.T @ patches / len(patches)
    eigenvalues, eigenvectors = torch.linalg.eigh(covariance)
    filters = (eigenvectors.T / torch.sqrt(eigenvalues + eps)[:, None]).flip(0).reshape(-1, 3, kernel, kernel)
    return torch.cat([filters, -filters])


def whitening_sample(images: torch.Tensor, generator: torch.Generator, size: int = WHITENING_IMAGES) -> torch.Tensor:
    """`size` training images drawn at random: the patches the whitening filters are fitted to. (The
    data sets are stored class by class, so the first images would all be aeroplanes.)"""
    return images[torch.randperm(len(images), generator=generator)[:size]]


def triangular_schedule(total_steps: int) -> list[float]:
    start, peak_at, end = SCHEDULE
    peak = int(peak_at * total_steps)
    return [start + (1 - start) * step / peak if step < peak else 1 + (end - 1) * (step - peak) / (total_steps - peak)
            for step in range(total_steps + 1)]


def optimizer_for(model: WhitenedNet, batch_size: int) -> torch.optim.SGD:
    """Nesterov SGD on the mean loss, with the step size and decay of LR_PER_1024 and
    WEIGHT_DECAY_PER_1024 whatever the momentum (torch's weight decay is multiplied by the lr)."""
    lr = LR_PER_1024 * batch_size / 1024 / (1 + 1 / (1 - MOMENTUM))
    decay_per_step = WEIGHT_DECAY_PER_1024 * batch_size / 1024 / (1 + 1 / (1 - MOMENTUM))
    shifts = [p for name, p in model.named_parameters() if "norm" in name and p.requires_grad]
    others = [p for name, p in model.named_parameters() if "norm" not in name and p.requires_grad]
    groups = [{"params": shifts, "initial_lr": lr * BIAS_LR_SCALE}, {"params": others, "initial_lr": lr}]
    for group in groups:  # the schedule sets "lr" at every step
        group["lr"] = group["initial_lr"]
        group["weight_decay"] = decay_per_step / group["initial_lr"]
    return torch.optim.SGD(groups, momentum=MOMENTUM, nesterov=True)


class Lookahead:
    """A slow copy of the weights (and BatchNorm statistics) that the network is pulled back to."""

    def __init__(self, model: nn.Module) -> None:
        self.average = {name: value.detach().clone() for name, value in model.state_dict().items()}

    def pull(self, model: nn.Module, decay: float) -> None:
        for name, value in model.state_dict().items():
            if value.dtype.is_floating_point:
                self.average[name].lerp_(value, 1 - decay)
                value.copy_(self.average[name])

    def decay(self, step: int, total_steps: int) -> float:
        return LOOKAHEAD["decay"] ** LOOKAHEAD["every_steps"] * (step / total_steps) ** LOOKAHEAD["power"]


def translated(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each image of a batch shifted by up to TRANSLATE pixels each way (reflect padding)."""
    n, _, h, w = images.shape
    padded = F.pad(images, (TRANSLATE,) * 4, mode="reflect")
    shifts = torch.randint(0, 2 * TRANSLATE + 1, (n, 2), generator=generator)
    out = torch.empty_like(images)
    for dy in range(2 * TRANSLATE + 1):
        for dx in range(2 * TRANSLATE + 1):
            chosen = (shifts[:, 0] == dy) & (shifts[:, 1] == dx)
            out[chosen] = padded[chosen, :, dy:dy + h, dx:dx + w]
    return out


def normalised(images: torch.Tensor) -> torch.Tensor:
    """uint8 training images as the network sees them (models/cifar10.py `preprocess`)."""
    return torch.cat([preprocess(part, WhitenedNet.input_size) for part in images.split(5000)])


def half_mirrored(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A random half of the images mirrored, once: the alternating flips start from this."""
    flip = torch.rand(len(images), generator=generator) < 0.5
    return torch.where(flip.view(-1, 1, 1, 1), images.flip(-1), images)


def epoch_images(base: torch.Tensor, epoch: int) -> torch.Tensor:
    """Every other epoch, every image mirrored."""
    return base.flip(-1) if epoch % 2 == 1 else base


def train(run: TrainingRun, model: WhitenedNet, optimizer: torch.optim.SGD, batch_size: int, images: torch.Tensor,
          labels: torch.Tensor, generator: torch.Generator, evaluate: Callable[[], float]) -> None:
    """This run's epochs of the recipe. `model` has its whitening filters set; `images` are uint8.
    The lookahead's average is the network itself at the end of an epoch, so a resumed run starts
    it from there."""
    steps_per_epoch = len(images) // batch_size
    total = steps_per_epoch * run.total_epochs
    schedule = triangular_schedule(total)
    base = half_mirrored(normalised(images), torch.Generator().manual_seed(run.seed))
    lookahead = None
    for epoch in run.epochs():
        model.train()
        model.whiten.bias.requires_grad_(epoch < WHITEN_BIAS_EPOCHS)
        if epoch >= LOOKAHEAD["start_epoch"] and lookahead is None:
            lookahead = Lookahead(model)
        shown = epoch_images(base, epoch)
        losses = []
        bar = run.batches(len(images), batch_size, generator)
        for index, batch in enumerate(bar):
            step = epoch * steps_per_epoch + index
            for group in optimizer.param_groups:
                group["lr"] = group["initial_lr"] * schedule[step]
            x = translated(shown[batch], generator).contiguous(memory_format=torch.channels_last)
            with torch.autocast("cpu" if run.device == "cpu" else "cuda", dtype=torch.bfloat16, enabled=run.bf16):
                logits = model(x.to(run.device))
            loss = F.cross_entropy(logits.float(), labels[batch].to(run.device), label_smoothing=LABEL_SMOOTHING)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if lookahead is not None and (step + 1) % LOOKAHEAD["every_steps"] == 0:
                lookahead.pull(model, lookahead.decay(step + 1, total))
            losses.append(loss.item())
            bar.set_postfix(loss=f"{sum(losses[-20:]) / len(losses[-20:]):.3f}")
        if lookahead is not None:
            lookahead.pull(model, 1.0)  # the network is the average at the end of each epoch
        run.end_epoch({"train loss": sum(losses) / len(losses), "test accuracy": evaluate()})
