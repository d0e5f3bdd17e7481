"""The shared shape of the iterative samplers' handlers (ebm, diffusion).

On top of the image generators' fields, a request may ask for `"stream": true` (progress while
the sampler runs, `handlers/stream.py`). The cost of a request is its samples times its steps:
besides each field's own range, the model-config caps that product (`max_sample_steps`), chosen
so that a request ends well inside the model's responseTimeout.

A handler says which field counts the steps (`steps_field`), how the sampler's images become
uint8 ones for previews (`to_uint8`), and how to sample (`sample`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from handlers.image_generator import GeneratedImages, ImageGeneratorHandler
from handlers.request_handler import Field, RequestError, resolve_seed
from handlers.stream import ProgressStream

# on_step(step, steps, the sampler's current images)
StepCallback = Callable[[int, int, torch.Tensor], None]


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

    def answer_batch(self, valid: list[tuple[int, dict[str, Any]]], context: Any) -> list[GeneratedImages]:
        answers = []
        for index, params in valid:
            params = dict(params)
            stream = params.pop("stream")
            image_format = params.pop("format")
            params["seed"] = resolve_seed(params["seed"])
            on_step = ProgressStream(context, index, self.to_uint8, self.limits["stream_previews"],
                                     self.limits["preview_samples"]) if stream else None
            images = self.sample(**params, on_step=on_step)
            details = {"seed": params["seed"], self.steps_field: params[self.steps_field]}
            answers.append(GeneratedImages(images, image_format, details, streamed=stream))
        return answers

    def to_uint8(self, images: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def sample(self, num_samples: int, seed: int, on_step: StepCallback | None, **params: Any) -> torch.Tensor:
        """uint8 images (N, 3, H, W)."""
        raise NotImplementedError
