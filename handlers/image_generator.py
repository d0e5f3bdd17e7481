"""The shared shape of the image generators' handlers (gan, ebm, diffusion).

A request asks for `num_samples` images with a `seed`; the answer is, as the original service
answered, `{"num_samples", "image_base64_png"}`: a grid of the samples as a base64 PNG. With
`"format": "images"` it is a list of individual base64 PNGs instead, and with the header
`Accept: image/png` the grid's PNG bytes themselves.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import torch

from handlers.image_io import encode_png, grid
from handlers.request_handler import Field, JsonHandler, encode_json, seed_field

FORMATS = ("grid", "images")


@dataclass
class GeneratedImages:
    images: torch.Tensor  # uint8 (N, C, H, W)
    format: str
    details: dict[str, Any] = field(default_factory=dict)  # extra answer fields, such as the seed

    def to_json(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"num_samples": len(self.images)}
        if self.format == "images":
            answer["images_base64_png"] = [_base64(encode_png(image)) for image in self.images]
        else:
            answer["image_base64_png"] = _base64(encode_png(grid(self.images)))
        return {**answer, **self.details}


def _base64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class ImageGeneratorHandler(JsonHandler):
    def common_fields(self, limits: dict[str, Any]) -> dict[str, Field]:
        return {"num_samples": Field(int, default=16, bounds=tuple(limits["num_samples"])),
                "seed": seed_field(limits),
                "format": Field(str, default="grid", choices=FORMATS)}

    def encode(self, context: Any, index: int, answer: Any) -> str | bytes:
        if isinstance(answer, GeneratedImages):
            if wants_png(context, index):
                context.set_response_content_type(index, "image/png")
                return encode_png(grid(answer.images))
            answer = answer.to_json()
        return encode_json(context, index, answer)


def wants_png(context: Any, index: int) -> bool:
    headers = context.get_all_request_header(index) or {}
    accept = next((v for k, v in headers.items() if k.lower() == "accept" and isinstance(v, str)), "")
    return "image/png" in accept.lower()
