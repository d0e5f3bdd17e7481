"""The one way to turn a weights manifest into a ready network, for handlers and scripts alike.

A network's manifest says how to build it, as nanoGPT keeps `model_args` in its checkpoints:

    "network": {"class": "models.unet.UNet", "args": {"widths": [32, 64, 96, 128], ...}}

Training scripts build their network from that same spec (`build_network`), so what is written is
what was trained. `load_network` checks the weights' sha256, builds the network, loads the weights
(tensors only: `weights_only=True`), and returns it in eval mode with gradients off.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import torch
from torch import nn

from models.manifest import verified_weights


def network_spec(network_class: type[nn.Module], **args: Any) -> dict[str, Any]:
    """The manifest entry that builds `network_class(**args)`."""
    return {"class": f"{network_class.__module__}.{network_class.__qualname__}", "args": args}


def build_network(spec: dict[str, Any]) -> nn.Module:
    """A new network (random weights) from a manifest's `network` entry."""
    module_name, _, class_name = spec["class"].rpartition(".")
    if module_name.split(".")[0] != "models":  # a manifest may only name this project's networks
        raise ValueError(f"network class {spec['class']!r} is not in the package 'models'")
    network_class = getattr(importlib.import_module(module_name), class_name)
    if not (isinstance(network_class, type) and issubclass(network_class, nn.Module)):
        raise ValueError(f"{spec['class']!r} is not a network (a torch.nn.Module)")
    return network_class(**spec.get("args", {}))


def load_network(manifest_path: Path, device: str | torch.device = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """(the trained network on `device`, eval mode, gradients off; the manifest)."""
    weights, manifest = verified_weights(manifest_path)
    network = build_network(manifest["network"])
    network.load_state_dict(torch.load(weights, weights_only=True, map_location="cpu"))
    return network.to(device).eval().requires_grad_(False), manifest
