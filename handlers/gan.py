"""`gan`: {"num_samples": 16, "seed": 1, "digit": 7} -> {"num_samples", "image_base64_png", ...}.

Version 2.0 (the default) is class-conditional: `digit` asks for one digit, and without it the
samples cycle through all ten. Version 1.0 is unconditional and refuses `digit`.
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

    def answer(self, num_samples: int, seed: int | None, format: str,
               digit: int | None) -> GeneratedImages | RequestError:
        conditional = self.network.conditional
        if digit is not None and not conditional:
            return RequestError(f"version {self.version} is unconditional: it takes no 'digit'", "digit",
                                "no digit (use version 2.0)")
        seed = resolve_seed(seed)
        z, digits = sample_inputs(num_samples, seed, digit, conditional, self.device)
        with torch.inference_mode():
            images = to_uint8(self.network(z, digits)).cpu()
        details: dict[str, Any] = {"seed": seed}
        if conditional:
            details["digits"] = digits.cpu().tolist()
        return GeneratedImages(images, format, details)
