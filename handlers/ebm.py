"""`ebm`: {"num_samples": 16, "steps": 256, "step_size": 10.0, "noise": 0.01, "seed": 1}
-> {"num_samples", "image_base64_png", "seed", "steps"}.

Langevin dynamics on the energy network, from uniform noise. The sampler turns gradients on
itself (it needs dE/dx), whatever mode the caller runs in.
"""

from pathlib import Path
from typing import Any

import torch

from handlers.iterative_sampler import IterativeSamplerHandler
from handlers.request_handler import Field
from models.ebm import EnergyNet
from models.images import to_uint8
from models.langevin import sample_from_noise
from models.manifest import verified_weights
from models.progress import StepCallback


class EbmHandler(IterativeSamplerHandler):
    steps_field = "steps"

    def request_fields(self, limits: dict[str, Any]) -> dict[str, Field]:
        return {**self.common_fields(limits),
                "steps": Field(int, default=256, bounds=tuple(limits["steps"])),
                "step_size": Field(float, default=10.0, bounds=tuple(limits["step_size"])),
                "noise": Field(float, default=0.01, bounds=tuple(limits["noise"]))}

    def load(self, model_dir: Path) -> None:
        weights, manifest = verified_weights(model_dir / "ebm.json")
        self.energy = EnergyNet(width=manifest["architecture"]["width"])
        self.energy.load_state_dict(torch.load(weights, weights_only=True, map_location="cpu"))
        self.energy.to(self.device).eval().requires_grad_(False)

    def to_uint8(self, images: torch.Tensor) -> torch.Tensor:
        return to_uint8(images)

    def sample(self, num_samples: int, seed: int, on_step: StepCallback | None, steps: int, step_size: float,
               noise: float) -> torch.Tensor:
        images = sample_from_noise(self.energy, num_samples, seed, steps, step_size, noise, self.device, on_step)
        return to_uint8(images).cpu()
