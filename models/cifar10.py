"""CIFAR-10 classifiers: the original course network (version 1.0) and a stronger one (2.0).

Both take normalised RGB images (see `preprocess`) and return logits over the ten classes in the
official order.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from models.images import standardize

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def preprocess(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 images (N, 3, H, W) of any size -> float (N, 3, size, size), normalised."""
    x = images.float() / 255.0
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return standardize(x)


class BaselineNet(nn.Module):
    """Version 1.0, the original course network: 64x64 input, two convs, two linear layers."""

    input_size = 64

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc1 = nn.Linear(32 * 16 * 16, 100)
        self.fc2 = nn.Linear(100, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(x.flatten(1)))
        return self.fc2(x)


def conv_bn(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.GELU())


class ConvGroup(nn.Module):
    """conv -> 2x2 max-pool -> conv, with a residual connection around the second conv."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv1 = conv_bn(cin, cout)
        self.conv2 = conv_bn(cout, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(self.conv1(x), 2)
        return x + self.conv2(x)


class ResidualNet(nn.Module):
    """Version 2.0: 32x32 input, a stem and three conv groups (64, 256, 256 channels) that halve the
    resolution, then global max-pooling and a linear layer. About 2.0 M parameters. In eval mode
    the logits are the mean over the image and its mirror image."""

    input_size = 32

    def __init__(self, widths: tuple[int, int, int] = (64, 256, 256)) -> None:
        super().__init__()
        self.stem = conv_bn(3, 32)
        self.groups = nn.Sequential(ConvGroup(32, widths[0]), ConvGroup(widths[0], widths[1]),
                                    ConvGroup(widths[1], widths[2]))
        self.head = nn.Linear(widths[2], 10, bias=False)
        self.logit_scale = 0.125

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:  # trained with random flips, so a mirror image is as good a view: average both
            return (self.logits(x) + self.logits(x.flip(-1))) / 2
        return self.logits(x)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        x = self.groups(self.stem(x))
        # Scaled down so the logits start small: keeps the early, large-learning-rate steps stable.
        return self.head(torch.amax(x, dim=(2, 3))) * self.logit_scale
