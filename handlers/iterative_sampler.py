"""The shared shape of the iterative samplers' handlers (ebm, diffusion).

On top of the image generators' fields, a request may ask for `"stream": true` (progress while
the sampler runs, `handlers/stream.py`). The cost of a request is its samples times its steps:
besides each field's own range, the model-config caps that product (`max_sample_steps`), chosen
so that a request ends well inside the model's responseTimeout, and lowered on a worker too slow to
finish it in time (handlers/sampler_clock.py: the cap in force, `max_sample_steps`, which the
describe call shows; a batch that would run past the timeout leaves its later requests unstarted,
answered 503 with Retry-After). A step that evaluates the network
twice a sample (diffusion 2.0's guided steps: with its class and without, in one batch of twice
the size) counts twice (`doubled_steps`).

A handler says the sampling function's own settings (`settings_fields`); the model-config says
which field counts the steps (`handler.steps_field`), and the weights manifest names the function
itself (`draw`, with the samplers' contract of models/progress.py). Requests that TorchServe hands over in
one batch with the same steps and settings run as one sampler call over all their samples
(`merged`), each with its own seed. Where the sampling function edits pictures (it takes an
`edit`, models/editing.py: diffusion's reverse diffusion, ebm 2.0's annealed Langevin) the request
also takes `image`, `mask`, `box` and `strength` (handlers/edit_input.py); each sample of a merged
call then has its own picture.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable
from functools import cached_property
from typing import Any

import torch

from handlers.cancellation import StreamCancelled, cancellation_check, input_stream_id
from handlers.edit_input import edit_fields, edit_params, edit_request
from handlers.image_generator import GeneratedImages, ImageGeneratorHandler
from handlers.request_handler import Field, RequestError, parse_body, resolve_seed, validate
from handlers.sampler_clock import BUDGET_WORDS, RETRY_AFTER_SECONDS, SamplerClock, calibrated
from handlers.stream import NDJSON, ProgressStream, StreamFailure
from models.editing import Edit, resized
from models.images import standardize
from models.precision import autocast
from models.seeds import Seeds

logger = logging.getLogger(__name__)
# What a merged call lets differ from request to request.
PER_REQUEST = ("num_samples", "seed", "format", "stream_id", "image", "mask", "label")


class IterativeSamplerHandler(ImageGeneratorHandler):
    draw: Callable[..., torch.Tensor]  # the sampling function (models/progress.py's contract)

    @property
    def steps_field(self) -> str:
        return self.model_version.steps_field

    def load(self) -> None:
        """The network (in the model-config's memory layout, or through its `handler.backend`:
        models/catalog.py), the sampling function its manifest names, and the precision the
        model-config asks for (`handler.precision`: models/precision.py), decided at worker start."""
        super().load()
        self.draw = self.model_version.sampling_function()
        self.precision = self.model_version.precision(self.device)
        self.backend = self.model_version.backend(self.device)
        logger.info("sampling with %s in %s, channels-last %s", self.backend, self.precision,
                    self.model_version.channels_last)
        self.clock = self.calibrated_clock()
        logger.info("%.2f ms a sample-step; cost cap in force %d (model-config %d)",
                    1000 * self.clock.seconds_per_evaluation, self.max_sample_steps, self.limits["max_sample_steps"])

    def calibrated_clock(self) -> SamplerClock:
        """The clock of this worker: one step of the most samples a request may ask for, as served."""
        _, settings = self.model_version.served_sampling()
        samples = self.limits["num_samples"][1]

        def run_step() -> None:
            with autocast(self.precision, self.device):
                self.draw(self.network, Seeds.one(samples, 0), 1, **settings)
        return calibrated(run_step, samples, float(self.model_version.config["responseTimeout"]),
                          cpu=self.device.type == "cpu" and torch.get_num_threads() == 1)

    @property
    def max_sample_steps(self) -> int:
        """The cost cap in force: the model-config's, or what this worker finishes within its budget if less."""
        return min(self.limits["max_sample_steps"], self.clock.affordable())

    def describe(self) -> dict[str, Any]:
        clock = self.clock
        return {**super().describe(), "backend": self.backend, "cost": {
            "max_sample_steps": self.max_sample_steps, "model_config_max_sample_steps": self.limits["max_sample_steps"],
            "seconds_per_sample_step": round(clock.seconds_per_evaluation, 6),
            "response_timeout": clock.response_timeout, "batch_budget_seconds": clock.budget}}

    image_size = 32  # the sampler's pictures, width and height

    @cached_property
    def editable(self) -> bool:
        """Whether the sampling function takes an `edit` (models/editing.py)."""
        return "edit" in inspect.signature(self.model_version.sampling_function()).parameters

    def request_fields(self) -> dict[str, Field]:
        edit = edit_fields(self.image_size, tuple(self.limits["strength"])) if self.editable else {}
        return {**self.common_fields(), "stream": Field(bool, default=False),
                self.steps_field: self.field(int, self.steps_field), **self.settings_fields(), **edit}

    def settings_fields(self) -> dict[str, Field]:
        raise NotImplementedError

    def completed(self, body: dict[str, Any]) -> dict[str, Any]:
        """The request's fields with those that others imply filled in (none here)."""
        return body

    def parse(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.editable:
            fields, image, mask = edit_request(request)
            params = edit_params(validate(self.completed(fields), self.fields), image, mask, self.image_size,
                                 self.limits["max_pixels"])
        else:
            params = validate(self.completed(parse_body(request)), self.fields)
        params["stream_id"] = input_stream_id(request)
        cap, cost = self.max_sample_steps, self.cost(params)
        if cost > cap:
            steps, doubled = params[self.steps_field], self.doubled_steps(params)
            product = f"num_samples x {self.steps_field}"
            factors = f"{params['num_samples']} x {steps}"
            if doubled:
                product = f"num_samples x ({self.steps_field} + guided steps)"
                factors = f"{params['num_samples']} x ({steps} + {doubled})"
            allowed = f"{product} <= {cap}"
            why = "" if cap == self.limits["max_sample_steps"] else (
                f" on this server, the most it samples within {BUDGET_WORDS} the {self.clock.response_timeout:g} s "
                f"response timeout (the model-config's cap is {self.limits['max_sample_steps']})")
            raise RequestError(f"{product} is {factors} = {cost}; it must be {allowed}{why}", "num_samples", allowed)
        return params

    def cost(self, params: dict[str, Any]) -> int:
        """The request's sample-evaluations of the network, which the cost cap counts."""
        return params["num_samples"] * self.network_evaluations(params)

    def network_evaluations(self, params: dict[str, Any]) -> int:
        """The network evaluations one sample of the request costs: one a step, two for a doubled one."""
        return params[self.steps_field] + self.doubled_steps(params)

    def doubled_steps(self, params: dict[str, Any]) -> int:
        """How many of the request's steps evaluate the network twice a sample (none here)."""
        return 0

    def answer_batch(self, valid: list[tuple[int, dict[str, Any]]],
                     context: Any) -> list[GeneratedImages | StreamFailure]:
        answers: dict[int, GeneratedImages | StreamFailure | RequestError] = {}
        start, done = time.perf_counter(), 0
        for group in self.merged(valid):
            elapsed, cost = time.perf_counter() - start, sum(self.cost(params) for _, params in group)
            if answers and self.clock.expected_after(cost, elapsed, done) > self.clock.budget:
                late = RequestError(
                    f"busy: this batch has sampled for {elapsed:.1f} s, and this request would take it past "
                    f"{BUDGET_WORDS} the {self.clock.response_timeout:g} s response timeout; retry", status=503,
                    retry_after=RETRY_AFTER_SECONDS)
                answers.update({index: late for index, _ in group})
            else:
                answers.update(self.sample_group(group, context))
                done += cost
        return [answers[index] for index, _ in valid]

    def merged(self, valid: list[tuple[int, dict[str, Any]]]) -> list[list[tuple[int, dict[str, Any]]]]:
        """The batch's requests in groups that one sampler call serves: the same steps and settings,
        all streamed or none, and together at most the cap in force (a group then costs no more
        than the largest single request)."""
        groups: dict[tuple, list[list[tuple[int, dict[str, Any]]]]] = {}
        for index, params in valid:
            key = tuple(sorted((name, value) for name, value in params.items() if name not in PER_REQUEST))
            key += (params.get("image") is not None, params.get("mask") is not None)
            packs = groups.setdefault(key, [[]])
            samples = sum(p["num_samples"] for _, p in packs[-1]) + params["num_samples"]
            if packs[-1] and samples * self.network_evaluations(params) > self.max_sample_steps:
                packs.append([])
            packs[-1].append((index, params))
        return [pack for packs in groups.values() for pack in packs]

    def sample_inputs(self, group: list[tuple[int, dict[str, Any]]]) -> dict[str, Any]:
        """The sampling function's per-sample arguments for a group: the pictures to edit, if any."""
        return {} if group[0][1].get("image") is None else {"edit": self.edit(group)}

    def answer_details(self, params: dict[str, Any]) -> dict[str, Any]:
        """What an answer says of its request beyond the seed and steps: the strength of an edit."""
        return {} if params.get("image") is None else {"strength": params["strength"]}

    def edit(self, group: list[tuple[int, dict[str, Any]]]) -> Edit:
        """The group's pictures (and masks), each repeated for its request's samples, in the
        normalised space (models/images.py) that the editing samplers work in."""
        def each(params: dict[str, Any], picture: torch.Tensor) -> torch.Tensor:
            return picture.expand(params["num_samples"], -1, -1, -1)

        pictures = [each(p, standardize(resized(p["image"][None], self.image_size))) for _, p in group]
        masks = None if group[0][1]["mask"] is None else torch.cat([each(p, p["mask"][None]) for _, p in group])
        return Edit(torch.cat(pictures), group[0][1]["strength"], masks)

    def sample_group(self, group: list[tuple[int, dict[str, Any]]],
                     context: Any) -> dict[int, GeneratedImages | StreamFailure]:
        """One sampler call for a group of requests; each request's samples come from its own seed
        (models/seeds.py), so they are the ones it would get alone."""
        first = group[0][1]
        streamed, steps = first["stream"], first[self.steps_field]
        settings = {**{name: first[name] for name in self.settings_fields()}, **self.sample_inputs(group)}
        chosen_seeds = [resolve_seed(params["seed"]) for _, params in group]
        seeds = Seeds([(params["num_samples"], seed) for (_, params), seed in zip(group, chosen_seeds)])
        on_step = None
        if streamed:
            streams = [ProgressStream(context, index, self.limits["stream_previews"], self.limits["preview_samples"])
                       for index, _ in group]
            cancelled = [cancellation_check(context, index, params["stream_id"]) for index, params in group]
            gone = [False] * len(group)

            def on_step(step: int, steps: int, images: torch.Tensor) -> None:
                # A stream whose client has gone gets no more lines; when all have gone, the sampler stops.
                for i, (stream, part) in enumerate(zip(streams, seeds.split(images))):
                    gone[i] = gone[i] or cancelled[i]()
                    if not gone[i]:
                        stream(step, steps, part)
                if all(gone):
                    raise StreamCancelled(f"every client of this sampler call hung up, at step {step} of {steps}")
        start = time.perf_counter()
        try:
            with autocast(self.precision, self.device):
                images = self.draw(self.network, seeds, steps, on_step=on_step, **settings)
        except StreamCancelled as cancelled_run:
            logger.info("stream cancelled: %s", cancelled_run)
            for _ in group:
                self.metrics.stream_cancelled()
            return {index: StreamFailure(cancelled_run) for index, _ in group}
        except Exception as error:
            if not streamed:
                raise  # TorchServe answers it with its own error status
            logger.exception("sampling failed during a streamed request")
            return {index: StreamFailure(error) for index, _ in group}
        self.metrics.samples(len(seeds), len(seeds) * steps, time.perf_counter() - start)
        return {index: GeneratedImages(part, params["format"],
                                       {"seed": seed, self.steps_field: steps, **self.answer_details(params)},
                                       streamed=streamed)
                for (index, params), seed, part in zip(group, chosen_seeds, seeds.split(images))}

    def encode(self, context: Any, index: int, answer: Any) -> str | bytes:
        if isinstance(answer, StreamFailure):
            context.set_response_content_type(index, NDJSON)
            # Heeded only if no progress line has gone out yet (then the headers have not either).
            context.set_response_status(500, "Internal Server Error", index)
            return answer.line()
        return super().encode(context, index, answer)
