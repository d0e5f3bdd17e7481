"""The command line: `python -m tsclient <model> ...` (or `tsclient` from .venv/bin after make install).

    tsclient bigram the --length 30 --seed 1
    tsclient similar king -k 10
    tsclient classify ship.jpg
    tsclient gan --digit 7 -n 16 -o sevens.png
    tsclient diffusion -n 16 --steps 50 -o grid.png

Samplers show a live progress bar fed by the stream; `--json` prints machine-readable output
instead; a refused request exits with status 1 and the server's message.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from tsclient.client import Client, Result, ServerError


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tsclient", description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="inference address (default: config.properties)")
    parser.add_argument("--key", help="inference key (default: read from the key file)")
    parser.add_argument("--key-file", type=Path, help="default: .torchserve/key_file.json")
    parser.add_argument("--management-url", help="where an expired key is renewed (default: config.properties, "
                                                 "when --url is not given)")
    parser.add_argument("--json", action="store_true", help="print the answer as JSON")
    models = parser.add_subparsers(dest="model", required=True)

    bigram = models.add_parser("bigram", help="generate text")
    bigram.add_argument("start_word")
    bigram.add_argument("--length", type=int)
    bigram.add_argument("--strategy", choices=["sample", "greedy"])
    bigram.add_argument("--temperature", type=float)
    bigram.add_argument("--top-k", type=int)
    bigram.add_argument("--seed", type=int)

    embed = models.add_parser("embed", help="a word's or phrase's vector")
    embed.add_argument("word")

    similar = models.add_parser("similar", help="the nearest words")
    similar.add_argument("word")
    similar.add_argument("-k", "--top-k", type=int)

    classify = models.add_parser("classify", help="a CIFAR-10 class for an image file")
    classify.add_argument("image", type=Path)
    classify.add_argument("-k", "--top-k", type=int)
    classify.add_argument("--version")

    for name, help, steps in (("gan", "MNIST digits", None), ("ebm", "CIFAR-10-like samples by Langevin dynamics",
                                                              "steps"),
                              ("diffusion", "CIFAR-10-like samples by reverse diffusion", "diffusion_steps")):
        sampler = models.add_parser(name, help=help)
        sampler.add_argument("-n", "--num-samples", type=int)
        sampler.add_argument("--seed", type=int)
        sampler.add_argument("-o", "--output", type=Path, help="write the grid PNG here")
        if name != "diffusion":
            sampler.add_argument("--version")
        if name == "gan":
            sampler.add_argument("--digit", type=int)
        else:
            sampler.add_argument("--steps", type=int, dest=steps)
        if name == "ebm":
            sampler.add_argument("--step-size", type=float)
            sampler.add_argument("--noise", type=float)
        if name == "diffusion":
            sampler.add_argument("--sampler", choices=["ddim", "dpmpp_2m"])
            sampler.add_argument("--eta", type=float)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = arguments().parse_args(argv)
    client = Client(url=args.url, key=args.key, key_file=args.key_file, management_url=args.management_url)
    try:
        answer = run(client, args)
    except ServerError as error:
        print(f"error {error.status}: {error.message}", file=sys.stderr)
        return 1
    print(json.dumps(answer) if args.json else text(answer))
    return 0


def run(client: Client, args: argparse.Namespace) -> Any:
    if args.model == "bigram":
        return {"text": client.bigram(args.start_word, length=args.length, strategy=args.strategy,
                                      temperature=args.temperature, top_k=args.top_k, seed=args.seed)}
    if args.model == "embed":
        vector = client.embed(args.word)
        return {"word": args.word, "vector": None if vector is None else vector.tolist()}
    if args.model == "similar":
        return {"word": args.word, "results": client.similar(args.word, top_k=args.top_k)}
    if args.model == "classify":
        prediction = client.classify(args.image, top_k=args.top_k, version=args.version)
        return {"label": prediction.label, "probability": prediction.probability, "top_k": prediction.top_k}
    if args.model == "gan":
        image = client.gan(num_samples=args.num_samples, digit=args.digit, seed=args.seed, version=args.version)
        return saved(image, args.output, {})
    settings = {name: value for name, value in vars(args).items()
                if name in ("num_samples", "seed", "steps", "diffusion_steps", "step_size", "noise", "sampler", "eta")}
    events = (client.ebm_stream(version=args.version, **settings) if args.model == "ebm"
              else client.diffusion_stream(**settings))
    with tqdm(unit="step", disable=args.json, file=sys.stderr) as bar:
        for event in events:
            if isinstance(event, Result):
                return saved(event.images, args.output, {"seed": event.seed})
            bar.total = event.steps
            bar.update(event.step - bar.n)
    raise ServerError(500, "the stream ended without a result")


def saved(image: Any, output: Path | None, details: dict[str, Any]) -> dict[str, Any]:
    if output is not None:
        image.save(output)
    return {**details, "size": list(image.size), "output": None if output is None else str(output)}


def text(answer: dict[str, Any]) -> str:
    if "text" in answer:
        return answer["text"]
    if "vector" in answer:
        if answer["vector"] is None:
            return f"{answer['word']}: no vector"
        norm = sum(v * v for v in answer["vector"]) ** 0.5
        return f"{answer['word']}: {len(answer['vector'])}-d, norm {norm:.3f}"
    if "results" in answer:
        return "\n".join(f"{word}\t{score:.3f}" for word, score in answer["results"])
    if "label" in answer:
        return "\n".join(f"{label}\t{prob:.3f}" for label, prob in answer["top_k"])
    where = f" -> {answer['output']}" if answer["output"] else " (give -o FILE to keep it)"
    return f"{answer['size'][0]}x{answer['size'][1]} grid{where}"


if __name__ == "__main__":
    sys.exit(main())
