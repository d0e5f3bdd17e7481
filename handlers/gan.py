"""`gan`: {"num_samples": 16, "seed": 1, "digit": 7} -> {"num_samples", "image_base64_png", ...}.

Version 2.0 (the default) is class-conditional: `digit` asks for one digit, and without it the
samples cycle through all ten. Version 1.0 is unconditional and refuses `digit`.
"""

from pathlib import Path
from typing import Any

import torch

from handlers.image_generator import GeneratedImages, ImageGeneratorHandler
from handlers.request_handler import Field, RequestError, resolve_seed
from models.gan import VERSIONS, sample_inputs
from models.images import to_uint8
from models.manifest import verified_weights


class GanHandler(ImageGeneratorHandler):
    def request_fields(self, limits: dict[str, Any]) -> dict[str, Field]:
        return {**self.common_fields(limits), "digit": Field(int, bounds=(0, 9))}

    def load(self, model_dir: Path) -> None:
        weights, _ = verified_weights(model_dir / f"gan-v{self.version}.json")
        self.generator = VERSIONS[self.version][0]()
        self.generator.load_state_dict(torch.load(weights, weights_only=True, map_location="cpu"))
        self.generator.to(self.device).eval()

    def predict(self, requests: list[dict[str, Any]]) -> list[GeneratedImages | RequestError]:
        return [self.generate(**request) for request in requests]

    def generate(self, num_samples: int, seed: int | None, format: str,
                 digit: int | None) -> GeneratedImages | RequestError:
        conditional = self.generator.conditional
        if digit is not None and not conditional:
            return RequestError(f"version {self.version} is unconditional: it takes no 'digit'", "digit",
                                "no digit (use version 2.0)")
        seed = resolve_seed(seed)
        z, digits = sample_inputs(num_samples, seed, digit, conditional, self.device)
        with torch.inference_mode():
            images = to_uint8(self.generator(z, digits)).cpu()
        details: dict[str, Any] = {"seed": seed}
        if conditional:
            details["digits"] = digits.cpu().tolist()
        return GeneratedImages(images, format, details)
