"""What the tests share: handlers loaded and called as TorchServe calls them (through
bench/local_context.py), weights files in a temporary folder, tiny networks, tiny stand-ins for
the data sets (so no test needs ../shared/data), and PNG encoding and decoding."""

import base64
import io
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from bench.local_context import LocalContext
from models.cifar10 import CLASSES
from models.loader import network_spec, sampler_spec
from models.manifest import sha256_of, weights_name, write_manifest
from models.noise_conditional_energy import NoiseConditionalEnergy
from models.unet import UNet

TINY_UNET_ARGS = {"widths": [8, 16, 24, 32], "block_depth": 1, "embedding_dim": 16, "groups": 4}


def json_request(body: Any) -> dict[str, Any]:
    """A request as TorchServe passes an application/json body to a handler: already decoded."""
    return {"body": body}


def loaded(handler_class: type, model: str, model_dir: Path, version: str = "1.0") -> tuple[Any, LocalContext]:
    """A handler initialised as TorchServe initialises it, from the weights in `model_dir`."""
    handler, context = handler_class(), LocalContext(model, model_dir, version)
    handler.initialize(context)
    return handler, context


def handle(handler: Any, context: LocalContext, requests: list[dict[str, Any]]) -> list[tuple[int, Any]]:
    """(status, encoded answer) for each request of one batch."""
    context.statuses.clear()
    return [(context.status(i), answer) for i, answer in enumerate(handler.handle(requests, context))]


def save_weights(model_dir: Path, model: str, version: str, network: torch.nn.Module, args: dict[str, Any],
                 sampler: Callable[..., torch.Tensor] | None = None) -> None:
    """A network's weights and manifest as a handler expects them (`<model>-v<version>.pt/.json`);
    `args` are the network's constructor arguments, `sampler` the sampling function of an
    iterative sampler."""
    name = weights_name(model, version)
    torch.save(network.state_dict(), model_dir / f"{name}.pt")
    write_manifest(model_dir / f"{name}.json", {
        "model": model, "version": version, "network": network_spec(type(network), **args),
        **({"sampler": sampler_spec(sampler)} if sampler is not None else {}),
        "weights": {"file": f"{name}.pt", "sha256": sha256_of(model_dir / f"{name}.pt")}})


def tiny_unet() -> UNet:
    """A small UNet (TINY_UNET_ARGS) whose output is not all zeros from the start."""
    torch.manual_seed(0)
    unet = UNet(**TINY_UNET_ARGS)
    torch.nn.init.normal_(unet.head[-1].weight, std=0.1)
    return unet.eval()


TINY_CONDITIONAL_UNET_ARGS = {**TINY_UNET_ARGS, "num_classes": 10, "attention_at": 8}


def tiny_conditional_unet() -> UNet:
    """tiny_unet() with classes (TINY_CONDITIONAL_UNET_ARGS) and attention, each class embedded differently."""
    network = UNet(**TINY_CONDITIONAL_UNET_ARGS)
    network.load_state_dict(tiny_unet().state_dict(), strict=False)
    torch.manual_seed(1)
    torch.nn.init.normal_(network.class_embedding.weight)  # zero at the start of training: here each class differs
    return network.eval()


class OneImageNoisePredictor(torch.nn.Module):
    """The exact noise predictor for a data set of one normalised `image` (1, 3, H, W): from a noisy
    image and its noise variance, the noise that was added to it. Class-conditional (every class is
    that image), so guidance changes nothing. On it, deterministic samplers give the image back."""

    num_classes = 10

    def __init__(self, image: torch.Tensor) -> None:
        super().__init__()
        self.image = torch.nn.Parameter(image, requires_grad=False)

    def forward(self, noisy: torch.Tensor, noise_variance: torch.Tensor,
                labels: torch.Tensor | None = None) -> torch.Tensor:
        variance = noise_variance.view(-1, 1, 1, 1).to(noisy.dtype)
        return (noisy - (1 - variance).sqrt() * self.image) / variance.sqrt()


def tiny_energy() -> NoiseConditionalEnergy:
    """A small noise-conditional energy whose UNet is tiny_unet()."""
    energy = NoiseConditionalEnergy(**TINY_UNET_ARGS)
    energy.unet.load_state_dict(tiny_unet().state_dict())
    return energy.eval()


def decode_png(data: str | bytes) -> Image.Image:
    """A PNG from its bytes or their base64 text, decoded completely."""
    image = Image.open(io.BytesIO(base64.b64decode(data) if isinstance(data, str) else data))
    image.load()
    return image


def max_level_difference(first: list[str], second: list[str]) -> int:
    """The largest difference of one pixel's level (0..255) between two lists of base64 PNGs, pairwise."""
    return max(int(np.abs(np.asarray(decode_png(a), dtype=int) - np.asarray(decode_png(b), dtype=int)).max())
               for a, b in zip(first, second))


def png_bytes(mode: str = "RGB", size: tuple[int, int] = (40, 30), color: Any = (200, 10, 10)) -> bytes:
    """A one-colour image as PNG bytes (grey 128 in mode L)."""
    buffer = io.BytesIO()
    Image.new(mode, size, color if mode != "L" else 128).save(buffer, format="PNG")
    return buffer.getvalue()


def make_tiny_cifar10(root, per_class=2):
    rng = np.random.default_rng(0)
    for split in ["train", "test"]:
        for label, name in enumerate(CLASSES):
            (root / "cifar10" / split / name).mkdir(parents=True)
            for i in range(per_class):
                pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
                pixels[..., label % 3] = 25 * label  # a class-dependent channel
                Image.fromarray(pixels).save(root / "cifar10" / split / name / f"{i:04d}.jpg")


def write_idx_mnist(root, count=256):
    """Tiny MNIST in the official (uncompressed) idx format, where torchvision looks for it."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in [("train", count), ("t10k", 64)]:
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 2051, n, 28, 28) + images.tobytes())
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 2049, n) + labels.tobytes())
