"""Train an MNIST GAN (version 1.0, the original design, or 2.0, class-conditional, the default).

    python -m training.gan --version 2.0 --epochs 20 --data-dir data --out weights

Both: binary cross-entropy, Adam (2e-4, beta1 0.5), batch 128, images scaled to [-1, 1].
Version 2.0 keeps an exponential moving average of the generator's weights (decay 0.999) and
serves that. Writes `weights/gan-v<version>.pt` (the generator), its manifest, a curve plot and a
sample grid; `training.evaluate_gan` adds the quality metrics.
"""

from __future__ import annotations

import copy

import torch
from torch.nn import functional as F
from torchvision.utils import save_image
from tqdm import tqdm

from models.gan import LATENT_DIM, NUM_CLASSES, VERSIONS, sample_inputs
from models.images import to_unit_range
from models.manifest import sha256_of, write_manifest
from training.data import load_mnist
from training.ema import update_ema
from training.run import TrainingRun, command_line, plot_curves, seed_everything, training_arguments

BATCH_SIZE = 128
EMA_DECAY = 0.999


def gan_loss(scores: torch.Tensor, real: bool, logits: bool) -> torch.Tensor:
    target = torch.full_like(scores, 1.0 if real else 0.0)
    if logits:
        return F.binary_cross_entropy_with_logits(scores, target)
    return F.binary_cross_entropy(scores, target)


def main(argv: list[str] | None = None) -> None:
    parser = training_arguments(__doc__.splitlines()[0], epochs=20)
    parser.add_argument("--version", choices=list(VERSIONS), default="2.0")
    args = parser.parse_args(argv)
    generator = seed_everything(args.seed)
    images, labels = load_mnist(args.data_dir, "train")
    images = to_unit_range(images)

    G_class, D_class = VERSIONS[args.version]
    G, D = G_class().to(args.device), D_class().to(args.device)
    conditional = G.conditional
    ema = copy.deepcopy(G).eval() if conditional else None
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    stateful = {"G": G, "D": D, "opt_g": opt_g, "opt_d": opt_d, "ema": ema, "generator": generator}
    run = TrainingRun(args, args.checkpoint_dir / f"gan-v{args.version}.pt", stateful,
                      curves=["discriminator loss", "generator loss"])

    steps = len(images) // BATCH_SIZE
    for epoch in run.epochs():
        G.train()
        D.train()
        order = torch.randperm(len(images), generator=generator)
        d_losses, g_losses = [], []
        bar = tqdm(range(steps), desc=f"epoch {epoch + 1}/{args.epochs}")
        for step in bar:
            batch = order[step * BATCH_SIZE:(step + 1) * BATCH_SIZE]
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
        run.end_epoch({"discriminator loss": sum(d_losses) / steps, "generator loss": sum(g_losses) / steps})

    served = (ema if ema is not None else G).eval()
    name = f"gan-v{args.version}"
    args.out.mkdir(parents=True, exist_ok=True)
    weights = args.out / f"{name}.pt"
    torch.save(served.state_dict(), weights)
    plot_curves(run.history, args.out / f"{name}-curve.png", f"MNIST GAN v{args.version}")
    with torch.no_grad():
        z, digits = sample_inputs(100, 0, None, conditional, args.device)
        if conditional:
            digits = torch.arange(100, device=args.device) // 10  # one row per digit
        save_image(served(z, digits) * 0.5 + 0.5, args.out / f"{name}-samples.png", nrow=10)
    write_manifest(args.out / f"{name}.json", {
        "model": "gan",
        "version": args.version,
        "architecture": {"generator": G_class.__doc__, "discriminator": D_class.__doc__},
        "parameters": {"generator": sum(p.numel() for p in G.parameters()),
                       "discriminator": sum(p.numel() for p in D.parameters())},
        "data": {"set": "MNIST (official files)", "train": "60,000 training images"},
        "training": {"epochs": run.epoch, "batch_size": BATCH_SIZE, "seed": args.seed, "runs": run.runs(),
                     "optimizer": "Adam lr 2e-4 betas (0.5, 0.999)", "loss": "binary cross-entropy",
                     "ema_decay": EMA_DECAY if conditional else None},
        "command": command_line("training.gan"),
        "seconds": round(run.seconds),
        "device": args.device,
        "metrics": {},
        "weights": {"file": weights.name, "sha256": sha256_of(weights)},
    })
    print(f"wrote {weights}")


if __name__ == "__main__":
    main()
