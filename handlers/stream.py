"""Streamed answers: progress sent to the client while a sampler runs.

A request with `"stream": true` gets newline-delimited JSON (`application/x-ndjson`) over chunked
HTTP, one TorchServe intermediate response per line:

    {"type": "progress", "step": 1, "steps": 50}
    ...
    {"type": "preview", "step": 7, "steps": 50, "image_base64_png": "..."}    8 times a request
    ...
    {"type": "result", "num_samples": 16, "image_base64_png": "...", ...}      the answer, last

Previews show the first few samples as they stand at that step. If the sampler fails, the last
line says so instead: `{"type": "error", "code": 500, "error": "..."}`. The HTTP status is 500
only when it fails before its first step; after that, the 200 has gone out with the first line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import torch
from ts.handler_utils.utils import send_intermediate_predict_response

from handlers.cancellation import StreamCancelled
from handlers.image_io import encode_png_base64, grid

NDJSON = "application/x-ndjson"


def ndjson_line(message: dict[str, Any]) -> str:
    return json.dumps(message) + "\n"


class ProgressStream:
    """The `on_step(step, steps, images)` callback of a sampler (models/progress.py), streaming to
    one request of a batch: a progress line a step, `previews` of them (or one a step, for fewer
    steps) with a preview, evenly spaced, the last at the final step, each a grid of the first
    `preview_samples` samples.
    """

    def __init__(self, context: Any, index: int, previews: int, preview_samples: int) -> None:
        self.context = context
        self.index = index
        self.previews = previews
        self.preview_samples = preview_samples

    def __call__(self, step: int, steps: int, images: torch.Tensor) -> None:
        message: dict[str, Any] = {"type": "progress", "step": step, "steps": steps}
        if step * self.previews // steps > (step - 1) * self.previews // steps:  # evenly spaced, the last at the end
            preview = grid(images[:self.preview_samples].cpu())
            message = {**message, "type": "preview",
                       "image_base64_png": encode_png_base64(preview)}
        self.send(message)

    def send(self, message: dict[str, Any]) -> None:
        self.context.set_response_content_type(self.index, NDJSON)
        send_intermediate_predict_response({self.index: ndjson_line(message)},
                                           {self.index: self.context.request_ids[self.index]},
                                           "Intermediate response", 200, self.context)


@dataclass(frozen=True)
class StreamFailure:
    """The answer to a streamed request whose sampler raised: the stream's last line says why."""

    error: Exception

    @property
    def outcome(self) -> str:
        """The metric label (handlers/handler_metrics.py)."""
        return "cancelled" if isinstance(self.error, StreamCancelled) else "500 sampler"

    def line(self) -> str:
        return ndjson_line({"type": "error", "code": 500,
                            "error": f"sampling failed ({type(self.error).__name__}); no result follows"})
