"""`diffusion`: {"num_samples": 16, "diffusion_steps": 10, "sampler": "dpmpp_2m", "seed": 1}
-> {"num_samples", "image_base64_png", "seed", "diffusion_steps"}.

Reverse diffusion with the EMA weights of the UNet, one network call a step, by `sampler`:
- "dpmpp_2m" (DPM-Solver++(2M), second-order): deterministic given the seed; it takes eta 0 only;
- "ddim": `eta` > 0 adds fresh noise at each step (eta = 1 is DDPM-like), 0 is deterministic
  given the seed.
The defaults (archive/diffusion/model-config.yaml) are DPM-Solver++(2M) at 10 steps.

Editing (handlers/edit_input.py, models/editing.py): with an `image`, image-to-image from that
picture noised to `strength` (default 0.8); with a `mask` or a `box` too, inpainting (default
strength 1). The answer then also says the strength.
"""

from typing import Any

import torch

from handlers.iterative_sampler import IterativeSamplerHandler
from handlers.request_handler import Field, RequestError
from models.diffusion_sampler import SCHEDULERS, scheduler_settings_error
from models.images import standardize


class DiffusionHandler(IterativeSamplerHandler):
    editable = True

    def network_space(self, pictures: torch.Tensor) -> torch.Tensor:
        return standardize(pictures)

    def settings_fields(self) -> dict[str, Field]:
        return {"sampler": Field(str, default=self.defaults["sampler"], choices=SCHEDULERS),
                "eta": self.field(float, "eta")}

    def parse(self, request: dict[str, Any]) -> dict[str, Any]:
        params = super().parse(request)
        error = scheduler_settings_error(params["sampler"], params["eta"])
        if error is not None:
            raise RequestError(error, "eta", f"0 with sampler {params['sampler']}")
        return params
