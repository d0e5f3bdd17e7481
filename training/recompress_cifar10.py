"""Compress the CIFAR-10 JPEG set once more, on a shifted block grid: what one JPEG generation costs.

    python -m training.recompress_cifar10 --data-dir data --out /tmp/recompressed
    python -m training.cifar10 --version 3.0 --epochs 10 --data-dir /tmp/recompressed --out /tmp/c

The shared set is the official images after one JPEG compression (quality 75, 4:2:0 chroma). Every
image, train and test, is reflect-padded by `--offset` pixels, saved again with the set's own
quantisation tables and chroma subsampling, decoded and cropped back: with the 8x8 blocks (16x16
for chroma) no longer where the first compression put them, it loses detail afresh instead of
nearly repeating the first. Training the same recipe on both sets then says what a generation of
JPEG costs the classifier. Writes the decoded images where `training.data` reads them
(`save_cifar10`: `<out>/cifar10/{train,test}-uint8.pt`) and prints the PSNR against the set it
started from.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image, JpegImagePlugin

from training.data import load_cifar10, save_cifar10


def jpeg_settings(data_dir: Path) -> dict:
    """The quantisation tables and chroma subsampling of the set's first test image."""
    first = min((Path(data_dir) / "cifar10" / "test").glob("*/*.jpg"))
    with Image.open(first) as image:
        return {"qtables": image.quantization, "subsampling": JpegImagePlugin.get_sampling(image)}


def recompressed(images: torch.Tensor, settings: dict, offset: int) -> torch.Tensor:
    """uint8 (N, 3, H, W) images compressed again with their block grid moved by `offset` pixels."""
    out = []
    for image in images.permute(0, 2, 3, 1).numpy():
        padded = np.pad(image, ((offset, offset), (offset, offset), (0, 0)), mode="reflect")
        buffer = io.BytesIO()
        Image.fromarray(padded).save(buffer, "JPEG", **settings)
        out.append(np.asarray(Image.open(buffer).convert("RGB"))[offset:offset + image.shape[0],
                                                                  offset:offset + image.shape[1]])
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).contiguous()


def psnr(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """Each image pair's peak signal-to-noise ratio in dB (uint8 images)."""
    mse = (first.float() - second.float()).pow(2).mean(dim=(1, 2, 3))
    return 10 * torch.log10(255 ** 2 / mse.clamp(min=1e-10))


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--offset", type=int, default=4, help="pixels the block grid moves (default 4)")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = arguments().parse_args(argv)
    settings = jpeg_settings(args.data_dir)
    for split in ("train", "test"):
        images, labels = load_cifar10(args.data_dir, split)
        again = recompressed(images, settings, args.offset)
        save_cifar10(args.out, split, again, labels)
        psnr_db = psnr(images, again)
        print(f"{split}: {len(images)} images, PSNR against the set: mean {psnr_db.mean():.2f} dB, "
              f"min {psnr_db.min():.2f} dB")


if __name__ == "__main__":
    main()
