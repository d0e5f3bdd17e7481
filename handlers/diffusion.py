"""`diffusion`: {"num_samples": 16, "diffusion_steps": 50, "seed": 1}
-> {"num_samples", "image_base64_png", "seed", "diffusion_steps"}.

DDIM reverse diffusion with the EMA weights of the UNet; `eta` > 0 adds fresh noise at each step
(eta = 1 is DDPM-like), 0 (the default) is deterministic given the seed.
"""

from pathlib import Path
from typing import Any

import torch

from handlers.iterative_sampler import IterativeSamplerHandler
from handlers.request_handler import Field
from models.diffusion_sampler import denormalize, reverse_diffusion
from models.manifest import verified_weights
from models.progress import StepCallback
from models.unet import UNet, UNetConfig


class DiffusionHandler(IterativeSamplerHandler):
    steps_field = "diffusion_steps"

    def request_fields(self, limits: dict[str, Any]) -> dict[str, Field]:
        return {**self.common_fields(limits),
                "diffusion_steps": Field(int, default=50, bounds=tuple(limits["diffusion_steps"])),
                "eta": Field(float, default=0.0, bounds=(0.0, 1.0))}

    def load(self, model_dir: Path) -> None:
        weights, manifest = verified_weights(model_dir / "diffusion.json")
        architecture = manifest["architecture"]
        config = UNetConfig(widths=tuple(architecture["widths"]), block_depth=architecture["block_depth"],
                            embedding_dim=architecture["embedding_dim"])
        self.unet = UNet(config)
        self.unet.load_state_dict(torch.load(weights, weights_only=True, map_location="cpu"))
        self.unet.to(self.device).eval()

    def to_uint8(self, images: torch.Tensor) -> torch.Tensor:
        return denormalize(images)

    def sample(self, num_samples: int, seed: int, on_step: StepCallback | None, diffusion_steps: int,
               eta: float) -> torch.Tensor:
        return reverse_diffusion(self.unet, num_samples, diffusion_steps, seed, eta, on_step)
