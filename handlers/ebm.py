"""`ebm`: {"num_samples": 16, "steps": 50, "step_size": 1.0, "noise": 0.0, "seed": 1}
-> {"num_samples", "image_base64_png", "seed", "steps"}.

Langevin dynamics on the energy network's gradient with respect to the images, taken by autograd
(the samplers turn gradients on themselves, whatever mode the caller runs in), by the sampler
each version's weights manifest names:
- version 2.0 (the default): annealed Langevin on a noise-conditional energy, from Gaussian noise
  down the noise levels (models/annealed_langevin.py); `step_size` scales the move down the
  energy and `noise` the Gaussian noise, each relative to the step between two noise levels;
  `sampler` "dpmpp_2m" takes the chain's deterministic limit (noise 0) at second order;
- version 1.0: the course recipe's chains from uniform noise (models/langevin.py); `step_size`
  multiplies the clipped gradient and `noise` is the standard deviation of each step's noise.

Version 2.0 edits pictures as diffusion does (handlers/diffusion.py): with an `image`, image-to-image
from the picture noised to `strength` (default 0.8), and with a `mask` or `box` too, inpainting
(default strength 1), through the same annealed chain. Version 1.0 takes no picture.
"""

import inspect
from typing import Any

from handlers.iterative_sampler import IterativeSamplerHandler
from handlers.request_handler import Field, RequestError
from models.diffusion_sampler import SCHEDULERS, scheduler_settings_error


class EbmHandler(IterativeSamplerHandler):
    def settings_fields(self) -> dict[str, Field]:
        fields = {"step_size": self.field(float, "step_size"), "noise": self.field(float, "noise")}
        if "sampler" in inspect.signature(self.model_version.sampling_function()).parameters:
            fields["sampler"] = Field(str, default=self.defaults["sampler"], choices=SCHEDULERS)
        return fields

    def parse(self, request: dict[str, Any]) -> dict[str, Any]:
        params = super().parse(request)
        error = scheduler_settings_error(params["sampler"], params["noise"], "noise") if "sampler" in params else None
        if error is not None:
            raise RequestError(error, "noise", f"0 with sampler {params['sampler']}")
        return params
