"""`gan`: {"num_samples": 16, "seed": 1, "digit": 7} -> {"num_samples", "image_base64_png", ...}.

Version 2.0 (the default) is class-conditional: `digit` asks for one digit, and without it the
samples cycle through all ten. Version 1.0 is unconditional and refuses `digit`. The requests of a
batch go through the generator together.
"""

from typing import Any

import torch

from handlers.image_generator import GeneratedImages, ImageGeneratorHandler
from handlers.request_handler import Field, RequestError, resolve_seed
from models.gan import batch_inputs
from models.images import to_uint8
from models.seeds import Seeds


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
            else:
                batch.append((index, params, resolve_seed(params["seed"])))
        if batch:
            seeds = Seeds([(params["num_samples"], seed) for _, params, seed in batch])
            z, digits = batch_inputs(seeds, [params["digit"] for _, params, _ in batch], conditional, self.device)
            with torch.inference_mode():
                images = to_uint8(self.network(z, digits)).cpu()
            self.metrics.samples(len(images), 0, 0.0)
            parts = zip(seeds.split(images), seeds.split(digits.cpu()) if conditional else [None] * len(batch))
            for (index, params, seed), (part, part_digits) in zip(batch, parts):
                details: dict[str, Any] = {"seed": seed}
                if conditional:
                    details["digits"] = part_digits.tolist()
                answers[index] = GeneratedImages(part, params["format"], details)
        return answers
