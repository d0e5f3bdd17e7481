"""The one way to turn a weights manifest into a ready network, for handlers and scripts alike.

A network's manifest says how to build it, as nanoGPT keeps `model_args` in its checkpoints, and an
iterative sampler's manifest names the function that samples it (the samplers' contract,
models/progress.py), written by the training script that knows it:

    "network": {"class": "models.unet.UNet", "args": {"widths": [32, 64, 96, 128], ...}}
    "sampler": {"function": "models.diffusion_sampler.reverse_diffusion"}

Training scripts build their network from that same spec (`build_network`), so what is written is
what was trained. `load_network` checks the weights' sha256, builds the network, loads the weights
(tensors only: `weights_only=True`), and returns it in eval mode with gradients off.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from models.manifest import verified_weights


def project_object(dotted_name: str) -> Any:
    """`models.<module>.<name>`, imported; a manifest may only name this project's code."""
    module_name, _, name = dotted_name.rpartition(".")
    if module_name.split(".")[0] != "models":
        raise ValueError(f"{dotted_name!r} is not in the package 'models'")
    return getattr(importlib.import_module(module_name), name)


def network_spec(network_class: type[nn.Module], **args: Any) -> dict[str, Any]:
    """The manifest entry that builds `network_class(**args)`."""
    return {"class": f"{network_class.__module__}.{network_class.__qualname__}", "args": args}


def build_network(spec: dict[str, Any]) -> nn.Module:
    """A new network (random weights) from a manifest's `network` entry."""
    network_class = project_object(spec["class"])
    if not (isinstance(network_class, type) and issubclass(network_class, nn.Module)):
        raise ValueError(f"{spec['class']!r} is not a network (a torch.nn.Module)")
    return network_class(**spec.get("args", {}))


def sampler_spec(sampler: Callable[..., torch.Tensor]) -> dict[str, str]:
    """The manifest entry that names `sampler`."""
    return {"function": f"{sampler.__module__}.{sampler.__qualname__}"}


def build_sampler(spec: dict[str, str]) -> Callable[..., torch.Tensor]:
    """The sampling function a manifest's `sampler` entry names."""
    sampler = project_object(spec["function"])
    if not callable(sampler) or isinstance(sampler, type):
        raise ValueError(f"{spec['function']!r} is not a sampling function")
    return sampler


def load_network(manifest_path: Path, device: str | torch.device = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """(the trained network on `device`, eval mode, gradients off; the manifest)."""
    weights, manifest = verified_weights(manifest_path)
    network = build_network(manifest["network"])
    network.load_state_dict(torch.load(weights, weights_only=True, map_location="cpu"))
    return network.to(device).eval().requires_grad_(False), manifest
