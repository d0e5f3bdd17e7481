"""The command line's arguments, built from what the server describes (tsclient/schema.py): one
subcommand per served model, one argument per field of the model version asked for, with the type,
range, choices and default the server gives. A new field or a new model shows up here unedited.

A required field (a string or a number) is positional (`tsclient bigram the`), and so is the image file
of a model whose body is an image (`tsclient cifar10 ship.jpg`); every other field is an option named
after it (`top_k` is `--top-k`). Values outside a field's limits are refused before anything is sent.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tsclient.client import Client
from tsclient.schema import IMAGE_KEYWORD, STREAM_FIELD, FieldSchema, ModelSchema

IMAGES_FIELD = "format"  # the image generators' field (a grid or one image per sample): they get -o
CONVERTERS: dict[str, Callable[[str], Any]] = {"integer": int, "number": float, "string": str}
METAVARS = {"integer": "N", "number": "X", "string": "TEXT"}


def connection_options(parser: argparse.ArgumentParser, after_the_model: bool = False) -> None:
    """The options that say where the server is, its keys, and how to print answers: on the command
    line before the model, or (`after_the_model`, for a model's own parser) after it, where they
    must not reset what was given before it."""
    default = {"default": argparse.SUPPRESS} if after_the_model else {}
    parser.add_argument("--url", help="the server: TorchServe's inference address or a gateway's "
                                      "(default: config.properties)", **default)
    parser.add_argument("--key", help="the inference key, or the gateway's secret (default: read from the key file)",
                        **default)
    parser.add_argument("--key-file", type=Path, help="TorchServe's key file (default: .torchserve/key_file.json)",
                        **default)
    parser.add_argument("--management-url", help="TorchServe's management address, where the models are described "
                                                 "and an expired key renewed (default: config.properties', when "
                                                 "--url is not given; without it the server at --url describes "
                                                 "them, as the gateway does)", **default)
    parser.add_argument("--json", action="store_true", help="print the server's answer as JSON", **default)


def first_pass(argv: list[str]) -> argparse.Namespace:
    """The connection options, the model named and its --version: what is needed to ask the server
    for the rest of the arguments."""
    parser = argparse.ArgumentParser(prog="tsclient", add_help=False, allow_abbrev=False)
    connection_options(parser)
    parser.add_argument("model", nargs="?")
    parser.add_argument("--version")
    return parser.parse_known_args(argv)[0]


def command_line(client: Client, model: str | None = None, version: str | None = None) -> argparse.ArgumentParser:
    """The whole command line for the models `client`'s server serves. Only `model` (at `version`, by
    default its default one) is described, so a command waits for no other model's worker; without a
    model, each model's versions are listed for the help."""
    parser = argparse.ArgumentParser(prog="tsclient", allow_abbrev=False,
                                     description="Call the models of a TorchServe: each model's arguments "
                                                 "are the fields its server describes.",
                                     epilog="tsclient MODEL --help lists a model's fields; a refused request "
                                            "exits with status 1 and the server's message.")
    connection_options(parser)
    commands = parser.add_subparsers(dest="model", required=True, metavar="MODEL",
                                     title=f"the models served at {client.url}")
    for served in client.models():
        if model is None or served == model:
            versions, default = client.versions(served), client.default_version(served)
            command = commands.add_parser(served, help=versions_words(versions, default), allow_abbrev=False)
            connection_options(command, after_the_model=True)
            if served == model:
                schema = client.describe(served, version if version in versions else None)
                add_model_arguments(command, schema, versions, default)
        else:
            commands.add_parser(served)
    return parser


def versions_words(versions: list[str], default: str) -> str:
    if len(versions) == 1:
        return f"version {default}"
    return f"versions {', '.join(versions)} (default {default})"


def add_model_arguments(command: argparse.ArgumentParser, schema: ModelSchema, versions: list[str],
                        default_version: str) -> None:
    command.description = escaped(f"{schema.model} {schema.version}: its fields as the server describes them. "
                                  f"The request's body: {schema.body}.")
    command.add_argument("--version", choices=versions,
                         help=f"the model version (default {default_version}); `--version V --help` "
                              "shows that version's fields")
    if schema.takes_image:
        command.add_argument(IMAGE_KEYWORD, type=Path, help="the image file")
    for name, field in schema.fields.items():
        if name != STREAM_FIELD:  # the command line streams wherever it can, for its progress bar
            add_field(command, name, field)
    if IMAGES_FIELD in schema.fields:
        command.add_argument("-o", "--output", type=Path,
                             help="write the PNG here (with --format images: one per sample, numbered; "
                                  "default: <model>-<seed>.png in the current folder)")
        command.add_argument("--scale", type=scale, default=1, metavar="N",
                             help="write the images N times as wide and high, each pixel a block (1..16, default 1)")


def positional(field: FieldSchema) -> bool:
    return field.required and field.type in CONVERTERS


def add_field(command: argparse.ArgumentParser, name: str, field: FieldSchema) -> None:
    help = escaped(f"{field.allowed()} ({field.default_words()})")
    if positional(field):
        command.add_argument(name, type=value_parser(field), choices=field.choices, help=help)
    elif field.type == "boolean":
        command.add_argument(option(name), dest=name, action=argparse.BooleanOptionalAction, required=field.required,
                             help=help)
    elif field.type == "array":
        items = field.items or FieldSchema("string")
        command.add_argument(option(name), dest=name, nargs="+", type=value_parser(items), required=field.required,
                             metavar=METAVARS[items.type], help=help)
    else:
        command.add_argument(option(name), dest=name, type=value_parser(field), choices=field.choices,
                             required=field.required, metavar=None if field.choices else METAVARS[field.type],
                             help=help)


def value_parser(field: FieldSchema) -> Callable[[str], Any]:
    """A `type=` for argparse: the text as the field's type, refused with the field's limits in words."""
    convert = CONVERTERS[field.type]

    def parse(text: str) -> Any:
        try:
            value = convert(text)
            if field.choices is not None or field.within_limits(value):  # argparse itself checks choices
                return value
        except ValueError:
            pass
        raise argparse.ArgumentTypeError(f"{text!r} is not {field.allowed()}")

    return parse


def scale(text: str) -> int:
    if text.isdigit() and 1 <= int(text) <= 16:
        return int(text)
    raise argparse.ArgumentTypeError(f"{text!r} is not an integer in 1..16")


def option(name: str) -> str:
    return "--" + name.replace("_", "-")


def escaped(text: str) -> str:
    """Text for argparse's help, which %-formats it."""
    return text.replace("%", "%%")
