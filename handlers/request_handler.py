"""What every handler shares: request parsing and validation, JSON errors, answer encoding.

A model's handler subclasses `JsonHandler` and says two things: the fields a request may have
(`request_fields`, each number's range and default taken from the model-config's `handler.limits`
and `handler.defaults` by `field`) and how to answer one valid request (`answer`). Handlers that
work on a whole batch at once (one matrix product) override `predict`, which then hands each
request's share of the result to `answer`; handlers whose model is not a network of models/
override `load`. What the version is (settings, limits, defaults, weights) the handler asks the
catalog's `ModelVersion` (models/catalog.py), `self.model_version`. TorchServe sends a batch of requests; each is
parsed and validated on its own, so one bad request gets its own 4xx answer and the others in the
batch are still served.
"""

from __future__ import annotations

import json
import math
import re
import secrets
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

import torch
from threadpoolctl import threadpool_limits

from handlers.handler_metrics import HandlerMetrics
from models.catalog import ModelVersion
from models.manifest import manifest_name

JSON = "application/json"
TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "a boolean", list: "a list"}
JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean", list: "array"}


class RequestError(Exception):
    """A request the client must change: answered with `status` and a JSON body naming the field."""

    def __init__(self, message: str, field: str | None = None, allowed: str | None = None,
                 status: int = 400, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.allowed = allowed
        self.status = status
        self.retry_after = retry_after  # seconds, for a 503: sent as the Retry-After header

    def outcome(self, fields: dict[str, Any]) -> str:
        """The refusal as a metric label: "<status> <field>", the field without a list item's index
        ("words[3]" is "words"), "unknown" for a field the model does not have, "body" for none."""
        field = re.sub(r"\[\d+\]$", "", self.field) if self.field else "body"
        return f"{self.status} {field if field in fields or field in ('image', 'body') else 'unknown'}"

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.status, "error": self.message}
        if self.field is not None:
            body["field"] = self.field
        if self.allowed is not None:
            body["allowed"] = self.allowed
        return body


@dataclass(frozen=True)
class Field:
    """One field of a JSON request: its type, whether it is required, and its limits.

    `bounds` is an inclusive (low, high) range for numbers; `max_length` caps a string's characters
    or a list's items; a list's items are checked against `items`.
    """

    type: type
    required: bool = False
    default: Any = None
    bounds: tuple[float, float] | None = None
    choices: tuple[str, ...] | None = None
    max_length: int | None = None
    items: Field | None = None

    def allowed(self) -> str:
        if self.choices is not None:
            return "one of " + ", ".join(self.choices)
        text = TYPE_NAMES[self.type]
        if self.bounds is not None:
            text += f" in {self.bounds[0]}..{self.bounds[1]}"
        if self.max_length is not None:
            unit = "items" if self.type is list else "characters"
            text += f" of 1..{self.max_length} {unit}"
        if self.items is not None:
            text += f", each {self.items.allowed()}"
        return text

    def schema(self) -> dict[str, Any]:
        """The field as the describe call shows it (JSON Schema's type names)."""
        schema: dict[str, Any] = {"type": JSON_TYPES[self.type], "required": self.required}
        if not self.required:
            schema["default"] = self.default
        for name in ("bounds", "choices", "max_length"):
            if getattr(self, name) is not None:
                schema[name] = list(getattr(self, name)) if name != "max_length" else self.max_length
        if self.items is not None:
            schema["items"] = self.items.schema()
        return schema

    def parse(self, name: str, value: Any) -> Any:
        def reject(problem: str) -> RequestError:
            return RequestError(f"{name!r} {problem}; it must be {self.allowed()}", name, self.allowed())

        if not self._has_type(value):
            raise reject(f"has type {type(value).__name__}")
        if self.type is float:
            value = float(value)
            if not math.isfinite(value):
                raise reject("is not finite")
        if self.bounds is not None and not self.bounds[0] <= value <= self.bounds[1]:
            raise reject(f"is {value}")
        if self.choices is not None and value not in self.choices:
            raise reject(f"is {value!r}")
        if self.type in (str, list):
            if self.type is str and not value.strip() or self.type is list and not value:
                raise reject("is empty")
            if self.max_length is not None and len(value) > self.max_length:
                raise reject(f"has length {len(value)}")
        if self.items is not None:
            value = [self.items.parse(f"{name}[{i}]", item) for i, item in enumerate(value)]
        return value

    def _has_type(self, value: Any) -> bool:
        if isinstance(value, bool):  # JSON true is not the number 1
            return self.type is bool
        if self.type is float:
            return isinstance(value, (int, float))
        return isinstance(value, self.type)


def parse_body(request: dict[str, Any]) -> dict[str, Any]:
    """The JSON object a request carries. TorchServe decodes `application/json` bodies itself and
    passes anything it cannot decode as bytes."""
    body = request.get("body", request.get("data"))
    if isinstance(body, (bytes, bytearray)):
        body = utf8_text(body, "the request body is not UTF-8 text; send a JSON object")
    if isinstance(body, str):
        body = json_value(body)
    if not isinstance(body, dict):
        raise RequestError("the request body must be a JSON object")
    return body


def json_value(text: str) -> Any:
    """The JSON value of a request body (TorchServe's worker passes on, undecoded, what its own
    json.loads refused: these are the same refusals, as 400s)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise RequestError(f"the request body is not valid JSON ({error.msg} at "
                           f"character {error.pos}); send a JSON object") from None
    except RecursionError:
        raise RequestError("the request body is nested too deeply; send a flat JSON object") from None
    except ValueError as error:  # such as an integer of more than 4,300 digits
        raise RequestError(f"the request body could not be read as JSON ({error})") from None


def utf8_text(data: bytes | bytearray, refusal: str) -> str:
    """Bytes a client sent as text, or a RequestError with the message `refusal`."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise RequestError(refusal) from None


def validate(body: dict[str, Any], fields: dict[str, Field]) -> dict[str, Any]:
    """Check a request against its fields and fill in defaults."""
    for name in body:
        if name not in fields:
            raise RequestError(f"unknown field {name!r}; allowed fields are {', '.join(fields)}",
                               name, ", ".join(fields))
    params = {}
    for name, field in fields.items():
        if name in body and body[name] is not None:
            params[name] = field.parse(name, body[name])
        elif field.required:
            raise RequestError(f"{name!r} is required; it must be {field.allowed()}", name,
                               field.allowed())
        else:
            params[name] = field.default
    return params


def resolve_seed(seed: int | None) -> int:
    """The seed a request asked for, or a fresh one, so every answer can say how to repeat it."""
    return secrets.randbits(32) if seed is None else seed


class JsonHandler:
    """The TorchServe handler contract: `initialize(context)` once, `handle(batch, context)` per batch."""

    def initialize(self, context: Any) -> None:
        # context.manifest is TorchServe's archive manifest; the weights manifest sits in model_dir.
        self.model = context.manifest["model"]["modelName"]
        self.version = context.manifest["model"]["modelVersion"]
        model_dir = Path(context.system_properties["model_dir"])
        self.model_version = ModelVersion(self.model, self.version, context.model_yaml_config or {},
                                  model_dir / manifest_name(self.model, self.version))
        # Several workers share the CPU: each gets the threads its model-config gives it, in torch and
        # in numpy's OpenBLAS, which would otherwise start a thread per core. Those threads spin
        # after each matrix product on the core the frontend needs (README, Speed: similar's answers
        # came later by about 2 ms).
        torch.set_num_threads(self.model_version.threads)
        threadpool_limits(self.model_version.threads)
        self.limits, self.defaults = self.model_version.limits, self.model_version.defaults
        self.fields = self.request_fields()
        gpu = context.system_properties.get("gpu_id")
        self.device = torch.device(f"cuda:{gpu}" if gpu is not None and torch.cuda.is_available() else "cpu")
        self.load()

    def field(self, type: type, name: str, **options: Any) -> Field:
        """A number field whose range (`handler.limits`, required) and default (`handler.defaults`,
        if any) come from the model-config."""
        return Field(type, default=self.defaults.get(name), bounds=tuple(self.limits[name]), **options)

    def request_fields(self) -> dict[str, Field]:
        raise NotImplementedError

    def load(self) -> None:
        """Load the model its weights manifest describes; by default the network it names."""
        self.network = self.model_version.network(self.device)

    def describe(self) -> dict[str, Any]:
        """What the management API's describe call (`GET /models/<name>?customized=true`) shows: the
        request's fields with their types, defaults and bounds, and what the weights are."""
        manifest = self.model_version.manifest
        return {"model": self.model, "version": self.version,
                "request": {"content": self.content, "body": self.body_description(),
                            "fields": {name: field.schema() for name, field in self.fields.items()}},
                "weights": {"data": manifest.get("data"), "parameters": manifest.get("parameters"),
                            "training_seconds": manifest.get("seconds"), "command": manifest.get("command"),
                            "metrics": manifest.get("metrics"), "file": manifest.get("weights", {}).get("file"),
                            "sha256": manifest.get("weights", {}).get("sha256")}}

    content = "json"  # what the body is, for clients to read: "json", or "image" (handlers/image_input.py)

    def body_description(self) -> str:
        return "a JSON object of the fields"

    def parse(self, request: dict[str, Any]) -> dict[str, Any]:
        """One request's validated parameters; a JSON body unless a handler says otherwise."""
        return validate(parse_body(request), self.fields)

    def predict(self, requests: list[dict[str, Any]]) -> list[Any]:
        """Answers for a batch of validated requests, in order; a RequestError refuses one."""
        return [self.answer(**request) for request in requests]

    def answer(self, **params: Any) -> Any:
        """The answer to one validated request (and its share of a batch's result, where `predict`
        computes one), or a RequestError that refuses it."""
        raise NotImplementedError

    def handle(self, batch: list[dict[str, Any]], context: Any) -> list[str]:
        if context.get_request_header(0, "describe") == "True":  # the management API's describe call
            return [json.dumps(self.describe())]
        self.metrics = HandlerMetrics(context, self.version)
        answers: list[dict[str, Any] | RequestError | None] = [None] * len(batch)
        valid = []
        with self.metrics.stage("parse"):
            for i, request in enumerate(batch):
                try:
                    valid.append((i, self.parse(request)))
                except RequestError as error:
                    answers[i] = error
        if valid:
            with self.metrics.stage("model"):
                for (i, _), answer in zip(valid, self.answer_batch(valid, context)):
                    answers[i] = answer
        with self.metrics.stage("encode"):
            encoded = [self.encode(context, i, answer) for i, answer in enumerate(answers)]
        for answer in answers:
            refused = isinstance(answer, RequestError)
            self.metrics.outcome(answer.outcome(self.fields) if refused else getattr(answer, "outcome", "ok"))
        return encoded

    def answer_batch(self, valid: list[tuple[int, dict[str, Any]]], context: Any) -> list[Any]:
        """Answers for the valid requests, given as (index in the batch, parameters). Handlers that
        talk to the client while they work (streaming) override this; the others, `predict`."""
        return self.predict([params for _, params in valid])

    def encode(self, context: Any, index: int, answer: Any) -> str | bytes:
        return encode_json(context, index, answer)


def encode_json(context: Any, index: int, answer: dict[str, Any] | RequestError) -> str:
    context.set_response_content_type(index, JSON)
    if isinstance(answer, RequestError):
        # The reason phrase is the standard one: the message, which may quote client input, goes
        # only into the JSON body, never into an HTTP header line.
        context.set_response_status(answer.status, HTTPStatus(answer.status).phrase, index)
        if answer.retry_after is not None:
            context.set_response_header(index, "Retry-After", str(answer.retry_after))
        answer = answer.to_json()
    return json.dumps(answer)
