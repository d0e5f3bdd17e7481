"""`ebm`: {"num_samples": 16, "steps": 256, "step_size": 10.0, "noise": 0.01, "seed": 1}
-> {"num_samples", "image_base64_png", "seed", "steps"}.

Langevin dynamics on the energy network, from uniform noise. The sampler turns gradients on
itself (it needs dE/dx), whatever mode the caller runs in.
"""

from handlers.iterative_sampler import IterativeSamplerHandler
from handlers.request_handler import Field
from models.langevin import sample_from_noise


class EbmHandler(IterativeSamplerHandler):
    steps_field = "steps"
    sampler = staticmethod(sample_from_noise)

    def settings_fields(self) -> dict[str, Field]:
        return {"step_size": self.field(float, "step_size"), "noise": self.field(float, "noise")}
