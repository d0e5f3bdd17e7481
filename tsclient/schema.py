"""What a served model version takes, as the server describes it.

The management API's describe call (`GET /models/<model>/<version>?customized=true`) answers
TorchServe's description of the version, with the handler's own in `customizedMetadata`:
{"model", "version", "request": {"content": "json" | "image", "body": text, "fields": {name: field}},
"weights": {...}}, where a field is {"type": "string|integer|number|boolean|array", "required",
"default", "bounds": [low, high], "choices": [...], "max_length", "items": field}. The client checks
its keywords against it, and the command line builds its arguments from it (the web page,
ui/app.js, reads the same JSON).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

STREAM_FIELD = "stream"  # a field of the models that can send their progress as they work
IMAGE_KEYWORD = "image"  # the client's keyword for the image of a model whose body is an image
PICTURE_KEYWORDS = (IMAGE_KEYWORD, "mask")  # pictures the client sends as base64: a path, bytes or a PIL image
TYPE_WORDS = {"string": "a string", "integer": "an integer", "number": "a number", "boolean": "a boolean",
              "array": "a list"}


def number(value: float) -> str:
    """A bound as people write it: 500, 0.05, 10 (not 10.0), 4294967295."""
    return str(value) if isinstance(value, int) else f"{value:.10g}"


@dataclass(frozen=True)
class FieldSchema:
    """One request field: its JSON type, whether a request must have it, what the server takes when
    it is left out, and its limits (`bounds` inclusive, `max_length` a string's characters or a
    list's items, `items` what each item of a list must be)."""

    type: str
    required: bool = False
    default: Any = None
    bounds: tuple[float, float] | None = None
    choices: tuple[Any, ...] | None = None
    max_length: int | None = None
    items: FieldSchema | None = None

    @classmethod
    def from_json(cls, described: dict[str, Any]) -> FieldSchema:
        return cls(type=described["type"], required=described.get("required", False),
                   default=described.get("default"),
                   bounds=tuple(described["bounds"]) if "bounds" in described else None,
                   choices=tuple(described["choices"]) if "choices" in described else None,
                   max_length=described.get("max_length"),
                   items=cls.from_json(described["items"]) if "items" in described else None)

    def allowed(self) -> str:
        """What the field takes, in words: "an integer in 1..500", "one of sample, greedy"."""
        if self.choices is not None:
            return "one of " + ", ".join(str(choice) for choice in self.choices)
        text = TYPE_WORDS.get(self.type, self.type)
        if self.bounds is not None:
            text += f" in {number(self.bounds[0])}..{number(self.bounds[1])}"
        if self.max_length is not None:
            text += f" of at most {self.max_length} {'items' if self.type == 'array' else 'characters'}"
        if self.items is not None:
            text += f", each {self.items.allowed()}"
        return text

    def default_words(self) -> str:
        """"required", "default 20", or "optional" (left out, the server decides: a seed is drawn)."""
        if self.required:
            return "required"
        if self.default is None:
            return "optional"
        if isinstance(self.default, bool):
            return f"default {json.dumps(self.default)}"
        return f"default {number(self.default) if isinstance(self.default, (int, float)) else self.default}"

    def within_limits(self, value: Any) -> bool:
        """Whether `value` (already of the field's type) is inside the field's limits."""
        if isinstance(value, float) and not math.isfinite(value):
            return False
        if self.bounds is not None and not self.bounds[0] <= value <= self.bounds[1]:
            return False
        if self.choices is not None and value not in self.choices:
            return False
        return self.max_length is None or len(value) <= self.max_length


@dataclass(frozen=True)
class ModelSchema:
    """One served model version's request: what its body is (`content`: "json" or "image"; `body`,
    in words) and its fields."""

    model: str
    version: str
    content: str
    body: str
    fields: dict[str, FieldSchema]
    weights: dict[str, Any]

    @classmethod
    def from_description(cls, description: list[dict[str, Any]]) -> ModelSchema:
        """From the describe call's answer: TorchServe's list with the one version's description,
        whose `customizedMetadata` is the handler's JSON (TorchServe passes it decoded or as text)."""
        metadata = description[0]["customizedMetadata"]
        described = json.loads(metadata) if isinstance(metadata, str) else metadata
        request = described["request"]
        return cls(model=described["model"], version=described["version"], content=request["content"],
                   body=request["body"],
                   fields={name: FieldSchema.from_json(field) for name, field in request["fields"].items()},
                   weights=described.get("weights") or {})

    @property
    def takes_image(self) -> bool:
        """Whether the request's body is an image (the classifiers), which the client sends as base64
        in the JSON field `image`."""
        return self.content == "image"

    @property
    def streams(self) -> bool:
        return STREAM_FIELD in self.fields

    def keywords(self) -> list[str]:
        """The keywords a request may have: the fields, and `image` where the body is an image."""
        return [*([IMAGE_KEYWORD] if self.takes_image else []), *self.fields]

    def check(self, keywords: list[str]) -> None:
        """A TypeError, as for any unexpected keyword argument, naming the allowed ones."""
        unknown = [name for name in keywords if name not in self.keywords()]
        if unknown:
            raise TypeError(f"{self.model} {self.version} has no field {', '.join(map(repr, unknown))}; "
                            f"its fields are {', '.join(self.keywords())}")
