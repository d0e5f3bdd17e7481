"""`diffusion`: {"num_samples": 16, "diffusion_steps": 10, "sampler": "dpmpp_2m", "seed": 1}
-> {"num_samples", "image_base64_png", "seed", "diffusion_steps"}.

Reverse diffusion with the EMA weights of the UNet, one network call a step, by `sampler`:
- "dpmpp_2m" (DPM-Solver++(2M), second-order): deterministic given the seed; it takes eta 0 only;
- "ddim": `eta` > 0 adds fresh noise at each step (eta = 1 is DDPM-like), 0 is deterministic
  given the seed.
The defaults (archive/diffusion/model-config.yaml) are DPM-Solver++(2M) at 10 steps.
"""

from typing import Any

from handlers.iterative_sampler import IterativeSamplerHandler
from handlers.request_handler import Field, RequestError
from models.diffusion_sampler import SCHEDULERS, scheduler_settings_error


class DiffusionHandler(IterativeSamplerHandler):
    def settings_fields(self) -> dict[str, Field]:
        return {"sampler": Field(str, default=self.defaults["sampler"], choices=SCHEDULERS),
                "eta": self.field(float, "eta")}

    def parse(self, request: dict[str, Any]) -> dict[str, Any]:
        params = super().parse(request)
        error = scheduler_settings_error(params["sampler"], params["eta"])
        if error is not None:
            raise RequestError(error, "eta", f"0 with sampler {params['sampler']}")
        return params
