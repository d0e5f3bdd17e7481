"""Train an MNIST GAN (version 1.0, the original design, or 2.0, class-conditional, the default).

    python -m training.gan --version 2.0 --epochs 20 --data-dir data --out weights

Both: binary cross-entropy, Adam (2e-4, beta1 0.5), batch 128, images scaled to [-1, 1].
Version 2.0 keeps an exponential moving average of the generator's weights (decay 0.999) and
serves that. Writes `weights/gan-v<version>.pt` (the generator), its manifest, a curve plot and a
sample grid; `training.evaluate_gan` adds the quality metrics.
"""

from __future__ import annotations

import argparse
import copy

import torch
from torch.nn import functional as F
from torchvision.utils import save_image

from models.gan import (
    LATENT_DIM,
    NUM_CLASSES,
    ConditionalGenerator,
    Discriminator,
    Generator,
    ProjectionDiscriminator,
    sample_inputs,
)
from models.images import to_unit_range
from models.loader import build_network, network_spec
from training.data import load_mnist
from training.ema import update_ema
from training.run import TrainingRun, command_line, parameter_count, seed_everything, training_arguments

BATCH_SIZE = 128
EMA_DECAY = 0.999
# version -> (the generator, which is served, as its manifest builds it; the discriminator)
NETWORKS = {"1.0": (network_spec(Generator), Discriminator),
            "2.0": (network_spec(ConditionalGenerator, embedding_dim=32), ProjectionDiscriminator)}


def gan_loss(scores: torch.Tensor, real: bool, logits: bool) -> torch.Tensor:
    target = torch.full_like(scores, 1.0 if real else 0.0)
    if logits:
        return F.binary_cross_entropy_with_logits(scores, target)
    return F.binary_cross_entropy(scores, target)


def arguments() -> argparse.ArgumentParser:
    parser = training_arguments(__doc__.splitlines()[0], epochs=20)
    parser.add_argument("--version", choices=list(NETWORKS), default="2.0")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = arguments().parse_args(argv)
    generator = seed_everything(args.seed)
    images, labels = load_mnist(args.data_dir, "train")
    images = to_unit_range(images)

    spec, discriminator_class = NETWORKS[args.version]
    G, D = build_network(spec).to(args.device), discriminator_class().to(args.device)
    conditional = G.conditional
    ema = copy.deepcopy(G).eval() if conditional else None
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    stateful = {"G": G, "D": D, "opt_g": opt_g, "opt_d": opt_d, "ema": ema, "generator": generator}
    run = TrainingRun(args, "gan", args.version, command_line("training.gan", argv), stateful,
                      curves=["discriminator loss", "generator loss"])

    for _ in run.epochs():
        G.train()
        D.train()
        d_losses, g_losses = [], []
        bar = run.batches(len(images), BATCH_SIZE, generator)
        for batch in bar:
            real = images[batch].to(args.device)
            real_digits = labels[batch].to(args.device) if conditional else None
            z = torch.randn(len(batch), LATENT_DIM, generator=generator).to(args.device)
            fake_digits = (torch.randint(0, NUM_CLASSES, (len(batch),), generator=generator).to(args.device)
                           if conditional else None)
            fake = G(z, fake_digits)

            d_loss = (gan_loss(D(real, real_digits), True, conditional)
                      + gan_loss(D(fake.detach(), fake_digits), False, conditional))
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()

            g_loss = gan_loss(D(fake, fake_digits), True, conditional)
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()
            if ema is not None:
                update_ema(ema, G, EMA_DECAY)
            d_losses.append(d_loss.item())
            g_losses.append(g_loss.item())
            bar.set_postfix(d=f"{d_losses[-1]:.3f}", g=f"{g_losses[-1]:.3f}")
        run.end_epoch({"discriminator loss": sum(d_losses) / len(d_losses),
                       "generator loss": sum(g_losses) / len(g_losses)})

    served = (ema if ema is not None else G).eval()
    run.save(served, title=f"MNIST GAN v{args.version}", manifest={
        "architecture": {"generator": type(G).__doc__, "discriminator": type(D).__doc__},
        "network": spec,
        "parameters": {"generator": parameter_count(G), "discriminator": parameter_count(D)},
        "data": {"set": "MNIST (official files)", "train": "60,000 training images"},
        "training": {"batch_size": BATCH_SIZE, "optimizer": "Adam lr 2e-4 betas (0.5, 0.999)",
                     "loss": "binary cross-entropy", "ema_decay": EMA_DECAY if conditional else None},
    }, metrics={})
    with torch.no_grad():
        z, digits = sample_inputs(100, 0, None, conditional, args.device)
        if conditional:
            digits = torch.arange(100, device=args.device) // 10  # one row per digit
        save_image(served(z, digits) * 0.5 + 0.5, run.output("-samples.png"), nrow=10)


if __name__ == "__main__":
    main()
