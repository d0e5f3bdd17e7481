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


class FrozenScaleBatchNorm(nn.BatchNorm2d):
    """BatchNorm with a learned shift and no learned scale (the next layer can scale), and a fast
    running average (momentum 0.4): the weights move a lot between the lookahead's steps. It
    normalises in fp32 even under bf16 autocast (which would leave it in bf16): its statistics
    need the precision."""

    def __init__(self, channels: int) -> None:
        super().__init__(channels, eps=1e-12, momentum=0.4)
        self.weight.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.float())


def identity_conv(cin: int, cout: int, kernel_size: int = 3) -> nn.Conv2d:
    """A 3x3 convolution whose first `cin` filters start as the identity: an implicit residual path."""
    conv = nn.Conv2d(cin, cout, kernel_size, padding="same", bias=False)
    nn.init.dirac_(conv.weight.data[:cin])
    return conv


class PoolingGroup(nn.Module):
    """conv -> 2x2 max-pool -> BatchNorm -> GELU -> conv -> BatchNorm -> GELU."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv1, self.norm1 = identity_conv(cin, cout), FrozenScaleBatchNorm(cout)
        self.conv2, self.norm2 = identity_conv(cout, cout), FrozenScaleBatchNorm(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.gelu(self.norm1(F.max_pool2d(self.conv1(x), 2)))
        return F.gelu(self.norm2(self.conv2(x)))


class WhitenedNet(nn.Module):
    """Version 3.0: 32x32 input; a 2x2 convolution whose filters whiten the training images' patches
    (set by the training script, then fixed), three pooling groups (64, 256, 256 channels), a 3x3
    max-pool and a linear layer. About 1.97 M parameters. In eval mode the logits are the mean over
    the image and its mirror image."""

    input_size = 32

    def __init__(self, widths: tuple[int, int, int] = (64, 256, 256), whitening_kernel: int = 2) -> None:
        super().__init__()
        patch = 3 * whitening_kernel ** 2
        self.whiten = nn.Conv2d(3, 2 * patch, whitening_kernel, bias=True)  # each eigenvector and its negative
        self.whiten.weight.requires_grad_(False)
        nn.init.zeros_(self.whiten.bias)
        self.groups = nn.Sequential(PoolingGroup(2 * patch, widths[0]), PoolingGroup(widths[0], widths[1]),
                                    PoolingGroup(widths[1], widths[2]))
        self.head = nn.Linear(widths[2], 10, bias=False)
        self.logit_scale = 1 / 9

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:  # trained with flips, so a mirror image is as good a view: average both
            return self.logits(torch.cat([x, x.flip(-1)])).view(2, len(x), 10).mean(0)
        return self.logits(x)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        x = self.groups(F.gelu(self.whiten(x)))
        # Scaled down so the logits start small: keeps the early, large-learning-rate steps stable.
        return self.head(torch.amax(F.max_pool2d(x, 3), dim=(2, 3))) * self.logit_scale
