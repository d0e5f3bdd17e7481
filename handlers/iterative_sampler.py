"""The shared shape of the iterative samplers' handlers (ebm, diffusion).

On top of the image generators' fields, a request may ask for `"stream": true` (progress while
the sampler runs, `handlers/stream.py`). The cost of a request is its samples times its steps:
besides each field's own range, the model-config caps that product (`max_sample_steps`), chosen
so that a request ends well inside the model's responseTimeout.

A handler says which field counts the steps (`steps_field`), how the sampler's images become
uint8 ones for previews (`to_uint8`), and how to sample (`sample`).
"""

from __future__ import annotations

import logging
from typing import Any

import torch

from handlers.image_generator import GeneratedImages, ImageGeneratorHandler
from handlers.request_handler import Field, RequestError, resolve_seed
from handlers.stream import NDJSON, ProgressStream, StreamFailure
from models.progress import StepCallback

logger = logging.getLogger(__name__)


class IterativeSamplerHandler(ImageGeneratorHandler):
    steps_field: str

    def common_fields(self, limits: dict[str, Any]) -> dict[str, Field]:
        return {**super().common_fields(limits), "stream": Field(bool, default=False)}

    def parse(self, request: dict[str, Any]) -> dict[str, Any]:
        params = super().parse(request)
        cap = self.limits["max_sample_steps"]
        cost = params["num_samples"] * params[self.steps_field]
        if cost > cap:
            allowed = f"num_samples x {self.steps_field} <= {cap}"
            raise RequestError(f"num_samples x {self.steps_field} is {params['num_samples']} x "
                               f"{params[self.steps_field]} = {cost}; it must be {allowed}", "num_samples", allowed)
        return params

    def answer_batch(self, valid: list[tuple[int, dict[str, Any]]],
                     context: Any) -> list[GeneratedImages | StreamFailure]:
        answers = []
        for index, params in valid:
            params = dict(params)
            stream = params.pop("stream")
            image_format = params.pop("format")
            params["seed"] = resolve_seed(params["seed"])
            on_step = ProgressStream(context, index, self.to_uint8, self.limits["stream_previews"],
                                     self.limits["preview_samples"]) if stream else None
            try:
                images = self.sample(**params, on_step=on_step)
            except Exception as error:
                if not stream:
                    raise  # TorchServe answers it with its own error status
                logger.exception("sampling failed during a streamed request")
                answers.append(StreamFailure(error))
                continue
            details = {"seed": params["seed"], self.steps_field: params[self.steps_field]}
            answers.append(GeneratedImages(images, image_format, details, streamed=stream))
        return answers

    def encode(self, context: Any, index: int, answer: Any) -> str | bytes:
        if isinstance(answer, StreamFailure):
            context.set_response_content_type(index, NDJSON)
            # Heeded only if no progress line has gone out yet (then the headers have not either).
            context.set_response_status(500, "Internal Server Error", index)
            return answer.line()
        return super().encode(context, index, answer)

    def to_uint8(self, images: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def sample(self, num_samples: int, seed: int, on_step: StepCallback | None, **params: Any) -> torch.Tensor:
        """uint8 images (N, 3, H, W)."""
        raise NotImplementedError
