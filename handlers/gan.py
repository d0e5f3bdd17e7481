"""`gan`: {"num_samples": 16, "seed": 1, "digit": 7} -> {"num_samples", "image_base64_png", ...}.

Version 2.0 (the default) is class-conditional: `digit` asks for one digit, and without it the
samples cycle through all ten. Version 1.0 is unconditional and refuses `digit`. The requests of a
batch go through the generator together.
"""

from typing import Any

import torch

from handlers.image_generator import GeneratedImages, ImageGeneratorHandler
from handlers.request_handler import Field, RequestError, resolve_seed
from models.gan import sample_inputs
from models.images import to_uint8


class GanHandler(ImageGeneratorHandler):
    def request_fields(self) -> dict[str, Field]:
        return {**self.common_fields(), "digit": self.field(int, "digit")}

    def predict(self, requests: list[dict[str, Any]]) -> list[GeneratedImages | RequestError]:
        """One forward pass for the whole batch; each request's inputs come from its own seed, so
        its images are the ones it would get alone."""
        conditional = self.network.conditional
        answers: list[GeneratedImages | RequestError | None] = [None] * len(requests)
        batch = []
        for index, params in enumerate(requests):
            if params["digit"] is not None and not conditional:
                answers[index] = RequestError(f"version {self.version} is unconditional: it takes no 'digit'",
                                              "digit", "no digit (use version 2.0)")
                continue
            seed = resolve_seed(params["seed"])
            z, digits = sample_inputs(params["num_samples"], seed, params["digit"], conditional, self.device)
            batch.append((index, params["format"], seed, z, digits))
        if batch:
            z = torch.cat([inputs for _, _, _, inputs, _ in batch])
            digits = torch.cat([digits for *_, digits in batch]) if conditional else None
            with torch.inference_mode():
                images = to_uint8(self.network(z, digits)).cpu()
            self.metrics.samples(len(images), 0, 0.0)
            sizes = [len(inputs) for _, _, _, inputs, _ in batch]
            for (index, format, seed, _, digits), part in zip(batch, images.split(sizes)):
                details: dict[str, Any] = {"seed": seed}
                if conditional:
                    details["digits"] = digits.cpu().tolist()
                answers[index] = GeneratedImages(part, format, details)
        return answers
