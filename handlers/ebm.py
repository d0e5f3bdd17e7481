"""`ebm`: {"num_samples": 16, "steps": 50, "step_size": 1.0, "noise": 0.0, "seed": 1}
-> {"num_samples", "image_base64_png", "seed", "steps"}.

Langevin dynamics on the energy network's gradient with respect to the images, taken by autograd
(the samplers turn gradients on themselves, whatever mode the caller runs in), by the sampler
each version's weights manifest names:
- version 2.0 (the default): annealed Langevin on a noise-conditional energy, from Gaussian noise
  down the noise levels (models/annealed_langevin.py); `step_size` scales the move down the
  energy and `noise` the Gaussian noise, each relative to the step between two noise levels;
- version 1.0: the course recipe's chains from uniform noise (models/langevin.py); `step_size`
  multiplies the clipped gradient and `noise` is the standard deviation of each step's noise.

Version 2.0 edits pictures as diffusion does (handlers/diffusion.py): with an `image`, image-to-image
from the picture noised to `strength` (default 0.8), and with a `mask` or `box` too, inpainting
(default strength 1), through the same annealed chain. Version 1.0 takes no picture.
"""

from handlers.iterative_sampler import IterativeSamplerHandler
from handlers.request_handler import Field


class EbmHandler(IterativeSamplerHandler):
    def settings_fields(self) -> dict[str, Field]:
        return {"step_size": self.field(float, "step_size"), "noise": self.field(float, "noise")}
