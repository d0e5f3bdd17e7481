"""`diffusion`: {"num_samples": 16, "diffusion_steps": 50, "seed": 1}
-> {"num_samples", "image_base64_png", "seed", "diffusion_steps"}.

DDIM reverse diffusion with the EMA weights of the UNet; `eta` > 0 adds fresh noise at each step
(eta = 1 is DDPM-like), 0 (the default) is deterministic given the seed.
"""

from handlers.iterative_sampler import IterativeSamplerHandler
from handlers.request_handler import Field
from models.diffusion_sampler import reverse_diffusion


class DiffusionHandler(IterativeSamplerHandler):
    steps_field = "diffusion_steps"
    sampler = staticmethod(reverse_diffusion)

    def settings_fields(self) -> dict[str, Field]:
        return {"eta": self.field(float, "eta")}
