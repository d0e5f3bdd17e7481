"""`diffusion`: {"num_samples": 16, "diffusion_steps": 10, "sampler": "dpmpp_2m", "seed": 1}
-> {"num_samples", "image_base64_png", "seed", "diffusion_steps"}.

Reverse diffusion with the EMA weights of the UNet, one network call a step, by `sampler`:
- "dpmpp_2m" (DPM-Solver++(2M), second-order): deterministic given the seed; it takes eta 0 only;
- "ddim": `eta` > 0 adds fresh noise at each step (eta = 1 is DDPM-like), 0 is deterministic
  given the seed.
The defaults (archive/diffusion/model-config.yaml) are DPM-Solver++(2M) at 10 steps.

Version 2.1 is 2.0 distilled (training/distill_diffusion.py): `sampler` "distilled" only (models/
distilled_scheduler.py), 1 to 4 calls, `label` as 2.0's, and no `guidance` (2.0's served guidance is
taught).

Version 2.0 (the default) is class-conditional: `label` asks for a class (handlers/class_label.py:
a name such as "ship", its index, or a list, one per sample) and `guidance` is the classifier-free
guidance scale (models/guidance.py; 0: plain conditional sampling). Without a label the samples are
unconditional, and guidance, which needs a class to steer towards, is 0 (asked for without a
label, it is refused). Guidance, applied at the middle noise levels only, doubles a guided step's
work (a batch of twice the size), which counts twice against `max_sample_steps`. The answer then
also says the labels (by name) and the guidance. Version 1.0 is unconditional and takes neither
field.

Editing (handlers/edit_input.py, models/editing.py): with an `image`, image-to-image from that
picture noised to `strength` (default 0.8); with a `mask` or a `box` too, inpainting (default
strength 1), with a label or without. The answer then also says the strength.
"""

from functools import cached_property
from typing import Any

import torch

from handlers.class_label import LABEL_FIELD, ClassLabelField, per_sample, with_implied_samples
from handlers.iterative_sampler import IterativeSamplerHandler
from handlers.request_handler import Field, RequestError
from models.cifar10 import CLASSES
from models.diffusion_sampler import SCHEDULERS, make_scheduler, scheduler_settings_error
from models.editing import first_step
from models.guidance import guided_steps

GUIDANCE_FIELD = "guidance"


class DiffusionHandler(IterativeSamplerHandler):
    @cached_property
    def num_classes(self) -> int:
        """The classes the network is conditioned on (0: unconditional), as its manifest says."""
        return self.model_version.manifest["network"]["args"].get("num_classes", 0)

    def request_fields(self) -> dict[str, Field]:
        fields = super().request_fields()
        if self.num_classes:
            fields[LABEL_FIELD] = ClassLabelField(choices=CLASSES[:self.num_classes],
                                                  max_length=self.limits["num_samples"][1])
        return fields

    def settings_fields(self) -> dict[str, Field]:
        fields = {"sampler": Field(str, default=self.defaults["sampler"],
                                   choices=tuple(self.limits.get("sampler", SCHEDULERS))),
                  "eta": self.field(float, "eta")}
        if GUIDANCE_FIELD in self.limits:
            fields[GUIDANCE_FIELD] = self.field(float, GUIDANCE_FIELD)
        return fields

    def completed(self, body: dict[str, Any]) -> dict[str, Any]:
        if not self.num_classes:
            for name in (LABEL_FIELD, GUIDANCE_FIELD):
                if name in body:
                    raise RequestError(f"version {self.version} is unconditional: it takes no {name!r}", name,
                                       f"no {name} (class-conditional sampling is version 2.0's)")
        if GUIDANCE_FIELD in body and GUIDANCE_FIELD not in self.fields:
            taught = self.model_version.manifest["training"]["teacher"]["guidance"]
            raise RequestError(f"version {self.version} was distilled with guidance {taught:g} taught: it takes no "
                               f"{GUIDANCE_FIELD!r} (version 2.0 takes any)", GUIDANCE_FIELD, "no guidance")
        guidance = body.get(GUIDANCE_FIELD)
        if body.get(LABEL_FIELD) is None and isinstance(guidance, (int, float)) and guidance:
            raise RequestError(f"'guidance' {guidance} steers samples towards their class: send a 'label' too "
                               "(unconditional samples take guidance 0)", GUIDANCE_FIELD, "0 without a label")
        return with_implied_samples(body, self.fields[LABEL_FIELD]) if self.num_classes else body

    def parse(self, request: dict[str, Any]) -> dict[str, Any]:
        params = super().parse(request)
        error = scheduler_settings_error(params["sampler"], params["eta"])
        if error is not None:
            raise RequestError(error, "eta", f"0 with sampler {params['sampler']}")
        if self.num_classes:
            params[LABEL_FIELD] = per_sample(params[LABEL_FIELD], params["num_samples"])
            if params[LABEL_FIELD] is None and GUIDANCE_FIELD in self.fields:
                params[GUIDANCE_FIELD] = 0.0
        return params

    def doubled_steps(self, params: dict[str, Any]) -> int:
        """Guided steps predict each sample's noise with its class and without it (one network call
        on a batch of twice the size; models/guidance.py, which also says which steps are guided);
        samples without a label are not guided (whatever the default guidance)."""
        if params.get(LABEL_FIELD) is None or not params.get(GUIDANCE_FIELD):
            return 0
        scheduler = make_scheduler(params["sampler"], params["eta"])
        scheduler.set_timesteps(params[self.steps_field])
        times = scheduler.timesteps
        if params.get("image") is not None:  # an edit runs the steps from its strength down only
            times = times[first_step(times, params["strength"]):]
        return guided_steps(times)

    def sample_inputs(self, group: list[tuple[int, dict[str, Any]]]) -> dict[str, Any]:
        """The pictures to edit, and with any label in the group each sample's class ("no class",
        index num_classes, for the samples of a request without a label)."""
        inputs = super().sample_inputs(group)
        if any(params.get(LABEL_FIELD) for _, params in group):
            inputs["labels"] = torch.tensor([label for _, params in group for label in
                                             params[LABEL_FIELD] or [self.num_classes] * params["num_samples"]])
        return inputs

    def answer_details(self, params: dict[str, Any]) -> dict[str, Any]:
        details = super().answer_details(params)
        if params.get(LABEL_FIELD):
            details["labels"] = [CLASSES[label] for label in params[LABEL_FIELD]]
            if GUIDANCE_FIELD in params:
                details[GUIDANCE_FIELD] = params[GUIDANCE_FIELD]
        return details
