"""The command line: `python -m tsclient <model> ...` (or `tsclient` from .venv/bin after make install).

    tsclient bigram the --length 30 --seed 1
    tsclient similar king --top-k 10
    tsclient cifar10 ship.jpg --version 1.0
    tsclient gan --digit 7 --num-samples 16 -o sevens.png
    tsclient diffusion --num-samples 16 --diffusion-steps 50 -o grid.png
    tsclient --help; tsclient diffusion --help       # the models served, a model's fields

The commands and their arguments come from what the server describes (tsclient/arguments.py), so
`--help` asks the server too; the connection options and `--json` go before the model or after it.
Models that stream show a live progress bar; `--json` prints the server's answer instead. Every
answer's seed is printed (for text answers, on stderr). Images go to `-o` or, without it, to a new
`<model>-<seed>.png` in the current folder (`--scale N` enlarges them). A refused request exits with
status 1 and the server's message, a file that cannot be read or a server that stops answering
with status 1 and one line, and Ctrl-C with 130, the stream closed (the server stops its sampler).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
from pathlib import Path
from typing import Any

import requests
from PIL import Image
from tqdm import tqdm

from tsclient.arguments import command_line, connection_options, first_pass
from tsclient.client import Client, Result, ServerError, decode_image
from tsclient.schema import ModelSchema


def main(argv: list[str] | None = None) -> int:
    try:
        return command(sys.argv[1:] if argv is None else argv)
    except KeyboardInterrupt:
        print("tsclient: interrupted; the request is cancelled", file=sys.stderr)
        return 130


def command(argv: list[str]) -> int:
    first = first_pass(argv)
    try:
        client = Client(url=first.url, key=first.key, key_file=first.key_file, management_url=first.management_url)
        parser = command_line(client, first.model, first.version)
    except (OSError, ValueError, requests.RequestException, ServerError) as error:
        return unreachable(argv, first, error)
    args = parser.parse_args(argv)
    try:
        schema = client.describe(args.model, args.version)
        answer = run(client, schema, args)
        written = saved(answer, args.model, getattr(args, "output", None), getattr(args, "scale", 1), args.json)
    except ServerError as error:
        print(f"error {error.status}: {error.message}", file=sys.stderr)
        return 1
    except requests.RequestException as error:
        print(f"tsclient: the server stopped answering: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # a file to send that cannot be read, or an output that cannot be written
        print(f"tsclient: {error.strerror or error}: {error.filename or ''}".rstrip(": "), file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(answer))
        return 0
    print(text(answer, written))
    if "seed" in answer and not written:  # an image's line says its seed itself
        print(f"seed {answer['seed']}", file=sys.stderr)
    return 0


def unreachable(argv: list[str], first: argparse.Namespace, error: Exception) -> int:
    """Without the server there are no commands: say why, after the options that point elsewhere."""
    if "-h" in argv or "--help" in argv:
        parser = argparse.ArgumentParser(prog="tsclient", description="Call the models of a TorchServe.")
        connection_options(parser)
        parser.print_help()
    if isinstance(error, requests.ConnectionError):
        where = error.request.url if error.request is not None else first.url
        error = f"no connection to {where}: is the server running there (--url, --management-url)?"
    print(f"tsclient: cannot read the models served (the commands and their arguments are what the server "
          f"describes): {error}", file=sys.stderr)
    return 1


def run(client: Client, schema: ModelSchema, args: argparse.Namespace) -> dict[str, Any]:
    """The server's answer to the request the arguments make (the last line of a stream)."""
    fields = {name: getattr(args, name) for name in schema.keywords() if getattr(args, name, None) is not None}
    if not schema.streams:
        return client.predict(args.model, args.version, **fields)
    events = client.stream(args.model, args.version, **fields)  # a refusal is raised here, before the bar
    try:
        # leave=False: the bar is wiped when it closes, so that nothing of it stays next to an error
        with tqdm(unit="step", disable=args.json, file=sys.stderr, leave=False) as bar:
            for event in events:
                if isinstance(event, Result):
                    bar.close()
                    if bar.total and not args.json:
                        print(f"{bar.total}/{bar.total} steps", file=sys.stderr)
                    return event.answer
                bar.total = event.steps
                bar.update(event.step - bar.n)
    finally:
        events.close()  # also on Ctrl-C: the connection closes, and the server stops the sampler
    raise ServerError(500, "the stream ended without a result")


def saved(answer: dict[str, Any], model: str, output: Path | None, scale: int,
          as_json: bool) -> list[tuple[Path, Image.Image]]:
    """The answer's images, each with the file it was written to: `output` (-o), or without it a
    new <model>-<seed>.png in the current folder (the JSON answer holds them itself)."""
    if "image_base64_png" in answer:
        images = [decode_image(answer["image_base64_png"])]
    else:
        images = [decode_image(encoded) for encoded in answer.get("images_base64_png", [])]
    if not images or (as_json and output is None):
        return []
    output = output or unused(Path(f"{model}-{answer.get('seed')}.png"), len(images))
    paths = [output] if len(images) == 1 else [numbered(output, i) for i in range(len(images))]
    if scale > 1:
        images = [image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)
                  for image in images]
    for path, image in zip(paths, images):
        image.save(path)
    return list(zip(paths, images))


def numbered(path: Path, index: int) -> Path:
    return path.with_name(f"{path.stem}-{index}{path.suffix}")


def unused(path: Path, count: int) -> Path:
    """`path`, or path-2, path-3, ... where files of that name (or its numbered ones) exist already."""
    candidate, n = path, 1
    while candidate.exists() or (count > 1 and numbered(candidate, 0).exists()):
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


def text(answer: dict[str, Any], images: list[tuple[Path, Image.Image]]) -> str:
    """The answer for a person: the kinds of answer this project's models give, and JSON for others."""
    if "generated_text" in answer:
        return answer["generated_text"]
    if "vector" in answer:
        return vector_words(answer)
    if "results" in answer:
        return "\n".join(f"{item['token']}\t{item['score']:.3f}" if "token" in item else vector_words(item)
                         for item in answer["results"])
    if "pred_label" in answer:
        return "\n".join(f"{item['label']}\t{item['prob']:.3f}" for item in answer["top_k"])
    if images:
        width, height = images[0][1].size
        grid = "image_base64_png" in answer
        kind = f"a {width}x{height} grid" if grid else f"{len(images)} images of {width}x{height}"
        where = ", ".join(str(path) for path, _ in images)
        return f"{kind} saved to {where}, seed {answer.get('seed')}"
    return json.dumps(answer, indent=2)


def vector_words(answer: dict[str, Any]) -> str:
    if answer["vector"] is None:
        return f"{answer['word']}: no vector"
    norm = sum(v * v for v in answer["vector"]) ** 0.5
    return f"{answer['word']}: {len(answer['vector'])}-d, norm {norm:.3f}"


def help_text(argv: list[str]) -> str:
    """What `tsclient <argv> --help` prints (and says on stderr when the server cannot be read), for
    tests that check what a server's models get: `help_text(["--url", url, "--key", key, "toy"])`."""
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output), contextlib.suppress(SystemExit):
        main([*argv, "--help"])
    return output.getvalue()


if __name__ == "__main__":
    sys.exit(main())
