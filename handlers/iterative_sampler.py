"""The shared shape of the iterative samplers' handlers (ebm, diffusion).

On top of the image generators' fields, a request may ask for `"stream": true` (progress while
the sampler runs, `handlers/stream.py`). The cost of a request is its samples times its steps:
besides each field's own range, the model-config caps that product (`max_sample_steps`), chosen
so that a request ends well inside the model's responseTimeout.

A handler says which field counts the steps (`steps_field`), which sampler of models/ it serves
(`sampler`, with the samplers' contract of models/progress.py) and the sampler's own settings
(`settings_fields`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import torch

from handlers.image_generator import GeneratedImages, ImageGeneratorHandler
from handlers.request_handler import Field, RequestError, resolve_seed
from handlers.stream import NDJSON, ProgressStream, StreamFailure

logger = logging.getLogger(__name__)


class IterativeSamplerHandler(ImageGeneratorHandler):
    steps_field: str
    sampler: Callable[..., torch.Tensor]

    def request_fields(self) -> dict[str, Field]:
        return {**self.common_fields(), "stream": Field(bool, default=False),
                self.steps_field: self.field(int, self.steps_field), **self.settings_fields()}

    def settings_fields(self) -> dict[str, Field]:
        raise NotImplementedError

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
            on_step = ProgressStream(context, index, self.limits["stream_previews"],
                                     self.limits["preview_samples"]) if params["stream"] else None
            answers.append(self.answer(**params, on_step=on_step))
        return answers

    def answer(self, num_samples: int, seed: int | None, format: str, stream: bool, on_step: ProgressStream | None,
               **params: Any) -> GeneratedImages | StreamFailure:
        seed = resolve_seed(seed)
        steps = params.pop(self.steps_field)
        try:
            images = self.sampler(self.network, num_samples, seed, steps, on_step=on_step, **params)
        except Exception as error:
            if not stream:
                raise  # TorchServe answers it with its own error status
            logger.exception("sampling failed during a streamed request")
            return StreamFailure(error)
        return GeneratedImages(images, format, {"seed": seed, self.steps_field: steps}, streamed=stream)

    def encode(self, context: Any, index: int, answer: Any) -> str | bytes:
        if isinstance(answer, StreamFailure):
            context.set_response_content_type(index, NDJSON)
            # Heeded only if no progress line has gone out yet (then the headers have not either).
            context.set_response_status(500, "Internal Server Error", index)
            return answer.line()
        return super().encode(context, index, answer)
