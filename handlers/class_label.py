"""A request's `label`: the class a class-conditional sampler is asked for (diffusion 2.0).

A label is a class name ("ship") or its index (8); a list gives one label per sample, and then the
request's `num_samples`, where left out, is the list's length. The describe call shows the field
as a string with the class names for choices (what a picker offers); the index and the list are
what a program sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from handlers.request_handler import Field, RequestError

LABEL_FIELD = "label"


@dataclass(frozen=True)
class ClassLabelField(Field):
    """`label`, parsed into class indices: an int, or a list of ints (one per sample)."""

    type: type = str

    def allowed(self) -> str:
        return (f"one of {', '.join(self.choices)}, or its index 0..{len(self.choices) - 1}, or a list of them "
                f"(one per sample) of 1..{self.max_length} items")

    def schema(self) -> dict[str, Any]:
        """As a string field with the class names for choices; `max_length` here counts a list's
        labels, not a name's characters, so it is left out (the server checks it)."""
        schema = super().schema()
        schema.pop("max_length", None)
        return schema

    def parse(self, name: str, value: Any) -> int | list[int]:
        if isinstance(value, list):
            if not 1 <= len(value) <= self.max_length:
                raise RequestError(f"{name!r} has {len(value)} labels; it must be {self.allowed()}", name,
                                   self.allowed())
            return [self.index(f"{name}[{i}]", item) for i, item in enumerate(value)]
        return self.index(name, value)

    def index(self, name: str, value: Any) -> int:
        if isinstance(value, str) and value in self.choices:
            return self.choices.index(value)
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(self.choices):
            return value
        raise RequestError(f"{name!r} is {value!r}; it must be {self.allowed()}", name, self.allowed())


def with_implied_samples(body: dict[str, Any], field: ClassLabelField) -> dict[str, Any]:
    """The request body with `num_samples` the length of a `label` list where it is left out (and the
    list within the field's length, which is refused otherwise)."""
    label = body.get(LABEL_FIELD)
    if isinstance(label, list) and "num_samples" not in body and 1 <= len(label) <= field.max_length:
        return {**body, "num_samples": len(label)}
    return body


def per_sample(label: int | list[int] | None, num_samples: int) -> list[int] | None:
    """One class index per sample (a single label for all of them), or None without a label."""
    if label is None:
        return None
    if isinstance(label, int):
        return [label] * num_samples
    if len(label) != num_samples:
        raise RequestError(f"'label' has {len(label)} labels for num_samples {num_samples}; a list gives one "
                           "label per sample", LABEL_FIELD, f"a list of {num_samples} labels, or one label")
    return label
