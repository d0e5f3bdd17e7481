"""Exponential moving average of a network's weights, the copy that generators sample with."""

from __future__ import annotations

import torch


@torch.no_grad()
def update_ema(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * model for parameters; buffers (BatchNorm statistics) are copied."""
    for ema_p, p in zip(ema.parameters(), model.parameters()):
        ema_p.lerp_(p, 1 - decay)
    for ema_b, b in zip(ema.buffers(), model.buffers()):
        ema_b.copy_(b)


def warmed_up_decay(step: int, decay: float) -> float:
    """The decay to use at optimiser step `step`: min(decay, (1 + step) / (10 + step)). Early on the
    average forgets fast, so it never holds a sizeable share of the random initial weights."""
    return min(decay, (1 + step) / (10 + step))
