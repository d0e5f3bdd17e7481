"""The shared shape of the image generators' handlers (gan, ebm, diffusion).

A request asks for `num_samples` images with a `seed`; the answer is, as the original service
answered, `{"num_samples", "image_base64_png"}`: a grid of the samples as a base64 PNG. With
`"format": "images"` it is a list of individual base64 PNGs instead, and with the header
`Accept: image/png` the grid's PNG bytes themselves. A streamed answer (`handlers/stream.py`)
ends with the same JSON as its last line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from handlers.image_io import encode_png, encode_png_base64, grid
from handlers.request_handler import Field, JsonHandler, encode_json
from handlers.stream import NDJSON, ndjson_line

FORMATS = ("grid", "images")


@dataclass
class GeneratedImages:
    images: torch.Tensor  # uint8 (N, C, H, W)
    format: str
    details: dict[str, Any] = field(default_factory=dict)  # extra answer fields, such as the seed
    streamed: bool = False  # progress went out already: the answer is the stream's last line

    def to_json(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"num_samples": len(self.images)}
        if self.format == "images":
            answer["images_base64_png"] = [encode_png_base64(image) for image in self.images]
        else:
            answer["image_base64_png"] = encode_png_base64(grid(self.images))
        return {**answer, **self.details}


class ImageGeneratorHandler(JsonHandler):
    def common_fields(self) -> dict[str, Field]:
        return {"num_samples": self.field(int, "num_samples"),
                "seed": self.field(int, "seed"),
                "format": Field(str, default="grid", choices=FORMATS)}

    def encode(self, context: Any, index: int, answer: Any) -> str | bytes:
        if isinstance(answer, GeneratedImages):
            if answer.streamed:
                context.set_response_content_type(index, NDJSON)
                return ndjson_line({"type": "result", **answer.to_json()})
            if wants_png(context, index):
                context.set_response_content_type(index, "image/png")
                return encode_png(grid(answer.images))
            answer = answer.to_json()
        return encode_json(context, index, answer)


def wants_png(context: Any, index: int) -> bool:
    headers = context.get_all_request_header(index) or {}
    accept = next((v for k, v in headers.items() if k.lower() == "accept" and isinstance(v, str)), "")
    return "image/png" in accept.lower()
