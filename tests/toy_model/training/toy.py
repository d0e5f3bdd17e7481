"""Train the toy model: a line through noisy points of y = 2x + 1.

    python -m training.toy --out weights
"""

import argparse

import torch

from models.loader import build_network, network_spec
from models.toy import Line
from training.run import TrainingRun, command_line, parameter_count, seed_everything, training_arguments


def arguments() -> argparse.ArgumentParser:
    return training_arguments(__doc__.splitlines()[0], epochs=30)


def main(argv: list[str] | None = None) -> None:
    args = arguments().parse_args(argv)
    generator = seed_everything(args.seed)
    x = torch.rand(256, 1, generator=generator) * 4 - 2
    y = 2 * x + 1 + 0.01 * torch.randn(256, 1, generator=generator)
    spec = network_spec(Line)
    line = build_network(spec)
    optimizer = torch.optim.SGD(line.parameters(), lr=0.1)
    run = TrainingRun(args, "toy", "1.0", command_line("training.toy", argv),
                      {"model": line, "optimizer": optimizer, "generator": generator}, curves=["loss"])
    for _ in run.epochs():
        losses = []
        for batch in run.batches(len(x), 32, generator):
            loss = ((line(x[batch]) - y[batch]) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        run.end_epoch({"loss": sum(losses) / len(losses)})
    run.save(line, title="Toy line", manifest={
        "architecture": "y = slope * x + intercept", "network": spec, "parameters": parameter_count(line),
        "data": "256 points of y = 2x + 1 + N(0, 0.01^2), x in [-2, 2]", "training": {"optimizer": "SGD lr 0.1"},
    }, metrics={"train_loss": run.history["loss"][-1]})


if __name__ == "__main__":
    main()
