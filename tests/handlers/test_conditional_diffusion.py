"""diffusion 2.0's `label` and `guidance` (handlers/diffusion.py, handlers/class_label.py) with a tiny
class-conditional UNet of random weights, called as TorchServe calls the handler: the labels each
sample gets, merged batches, refusals, guidance in one batched network call, and edits with a label."""

import base64
import json

import numpy as np
import pytest
import torch

from handlers.diffusion import DiffusionHandler
from handlers.image_io import encode_png
from models.cifar10 import CLASSES
from models.diffusion_sampler import make_scheduler, reverse_diffusion
from models.guidance import guided_steps
from tests.helpers import (
    TINY_CONDITIONAL_UNET_ARGS,
    TINY_UNET_ARGS,
    decode_png,
    handle,
    json_request,
    loaded,
    save_weights,
    tiny_conditional_unet,
    tiny_unet,
)


@pytest.fixture
def diffusion2(tmp_path):
    save_weights(tmp_path, "diffusion", "2.0", tiny_conditional_unet(), TINY_CONDITIONAL_UNET_ARGS, reverse_diffusion)
    return loaded(DiffusionHandler, "diffusion", tmp_path, "2.0")


def answers(handler_and_context, bodies):
    handler, context = handler_and_context
    context.request_headers = {i: {} for i in range(len(bodies))}
    return [(status, json.loads(out)) for status, out in handle(handler, context, [json_request(b) for b in bodies])]


def one(handler_and_context, body):
    [(status, out)] = answers(handler_and_context, [body])
    assert status == 200, out
    return out


BASE = {"diffusion_steps": 3, "seed": 4, "format": "images"}


def test_a_label_by_name_or_index_and_the_answer_says_it(diffusion2):
    by_name = one(diffusion2, {**BASE, "num_samples": 2, "label": "ship"})
    by_index = one(diffusion2, {**BASE, "num_samples": 2, "label": 8})
    assert by_name == by_index
    assert by_name["labels"] == ["ship", "ship"] and by_name["guidance"] == 3.0
    other = one(diffusion2, {**BASE, "num_samples": 2, "label": "cat"})
    assert other["images_base64_png"] != by_name["images_base64_png"]
    unconditional = one(diffusion2, {**BASE, "num_samples": 2})
    assert "labels" not in unconditional and "guidance" not in unconditional
    assert unconditional["images_base64_png"] != by_name["images_base64_png"]


def test_a_list_gives_one_label_per_sample_and_implies_num_samples(diffusion2):
    mixed = one(diffusion2, {**BASE, "label": ["cat", 5, "truck"]})
    assert mixed["num_samples"] == 3 and mixed["labels"] == ["cat", "dog", "truck"]
    for position, label in enumerate(["cat", "dog", "truck"]):
        alone = one(diffusion2, {**BASE, "num_samples": 3, "label": label})
        assert mixed["images_base64_png"][position] == alone["images_base64_png"][position]


def test_guidance_is_one_batched_network_call_a_step_and_changes_the_samples(diffusion2):
    handler, _ = diffusion2
    batch_sizes = []
    hook = handler.network.register_forward_hook(lambda module, inputs, output: batch_sizes.append(len(inputs[0])))
    try:
        guided = one(diffusion2, {**BASE, "num_samples": 2, "label": "ship", "guidance": 3.0})
        assert batch_sizes == [2, 4, 2]  # of 3 steps the middle one is guided (models/guidance.py)
        batch_sizes.clear()
        plain = one(diffusion2, {**BASE, "num_samples": 2, "label": "ship", "guidance": 0})
        assert batch_sizes == [2, 2, 2]
    finally:
        hook.remove()
    assert guided["guidance"] == 3.0 and plain["guidance"] == 0.0
    assert guided["images_base64_png"] != plain["images_base64_png"]
    assert one(diffusion2, {**BASE, "num_samples": 2, "label": "ship", "guidance": 3.0}) == guided


def test_a_merged_batch_keeps_each_requests_seed_and_labels(diffusion2):
    bodies = [{**BASE, "num_samples": 2, "label": "cat", "seed": 1},
              {**BASE, "num_samples": 1, "label": ["horse"], "seed": 2},
              {**BASE, "num_samples": 2, "label": "cat", "seed": 3, "guidance": 0},
              {**BASE, "num_samples": 1, "seed": 5}]
    together = answers(diffusion2, bodies)
    assert together == [answers(diffusion2, [body])[0] for body in bodies]
    assert [out.get("labels") for _, out in together] == [["cat", "cat"], ["horse"], ["cat", "cat"], None]


def test_inpainting_with_a_label_keeps_the_picture_outside_the_box(diffusion2):
    torch.manual_seed(3)
    original = (torch.rand(3, 32, 32) * 255).to(torch.uint8)
    out = one(diffusion2, {**BASE, "num_samples": 1, "label": "frog", "box": [0, 0, 16, 32],
                           "image": base64.b64encode(encode_png(original)).decode()})
    sample = torch.from_numpy(np.array(decode_png(out["images_base64_png"][0]))).permute(2, 0, 1)
    assert (sample[:, :, 16:].int() - original[:, :, 16:].int()).abs().max() <= 1
    assert out["labels"] == ["frog"] and out["strength"] == 1.0


@pytest.mark.parametrize("body, field", [
    ({"label": "spaceship"}, "label"),
    ({"label": 10}, "label"),
    ({"label": -1}, "label"),
    ({"label": True}, "label"),
    ({"label": 2.0}, "label"),
    ({"label": []}, "label"),
    ({"label": ["cat", "unicorn"]}, "label[1]"),
    ({"label": ["cat"] * 65}, "label"),
    ({"label": ["cat", "dog"], "num_samples": 3}, "label"),
    ({"label": "cat", "guidance": 10.5}, "guidance"),
    ({"label": "cat", "guidance": -1}, "guidance"),
    ({"label": "cat", "guidance": "strong"}, "guidance"),
    ({"guidance": 2.0}, "guidance"),
    ({"label": None, "guidance": 2.0}, "guidance"),
])
def test_bad_labels_and_scales_are_refused_naming_the_field_and_the_allowed_values(diffusion2, body, field):
    [(status, out)] = answers(diffusion2, [{**BASE, **body}])
    assert status == 400, out
    assert out["field"] == field and out["allowed"]
    if field.startswith("label") and "num_samples" not in body:
        assert all(name in out["allowed"] for name in CLASSES)


@pytest.mark.parametrize("field, value", [("label", "cat"), ("guidance", 1.0)])
def test_an_unconditional_version_refuses_labels_and_guidance(tmp_path, field, value):
    save_weights(tmp_path, "diffusion", "1.0", tiny_unet(), TINY_UNET_ARGS, reverse_diffusion)
    diffusion1 = loaded(DiffusionHandler, "diffusion", tmp_path)
    assert field not in diffusion1[0].fields
    [(status, out)] = answers(diffusion1, [{**BASE, field: value}])
    assert status == 400 and out["field"] == field and "unconditional" in out["error"]


def test_the_describe_call_offers_the_class_names(diffusion2):
    handler, _ = diffusion2
    fields = handler.describe()["request"]["fields"]
    assert fields["label"]["choices"] == list(CLASSES) and fields["label"]["type"] == "string"
    assert "max_length" not in fields["label"]  # it counts a list's labels, not a name's characters
    assert fields["guidance"]["bounds"] == [0.0, 10.0] and fields["guidance"]["default"] == 3.0


def guided_steps_at(steps: int) -> int:
    """How many of `steps` DPM-Solver++(2M) steps are guided (models/guidance.py's interval)."""
    scheduler = make_scheduler("dpmpp_2m", 0.0)
    scheduler.set_timesteps(steps)
    return guided_steps(scheduler.timesteps)


def test_guided_steps_count_twice_against_the_cost_cap(diffusion2):
    handler, _ = diffusion2
    cap = handler.limits["max_sample_steps"]
    steps = cap // 64  # 64 samples at these steps fit the cap unguided, not guided
    guided = guided_steps_at(steps)
    assert 0 < guided < steps
    plain = {"num_samples": 64, "diffusion_steps": steps, "label": "cat", "guidance": 0, "seed": 1}
    assert handler.parse(json_request(plain))["num_samples"] == 64
    unlabelled = {"num_samples": 64, "diffusion_steps": steps, "seed": 1}  # the default guidance does not apply
    assert handler.parse(json_request(unlabelled))["guidance"] == 0.0
    [(status, out)] = answers(diffusion2, [{**plain, "guidance": 2.0}])
    assert status == 400 and out["field"] == "num_samples"
    assert out["allowed"] == f"num_samples x (diffusion_steps + guided steps) <= {cap}"
    assert f"64 x ({steps} + {guided}) = {64 * (steps + guided)}" in out["error"]


def test_guided_requests_merge_only_while_their_doubled_work_fits_the_cap(diffusion2):
    handler, _ = diffusion2
    cap = handler.limits["max_sample_steps"]

    def groups(steps, guidance):
        body = {"num_samples": 32, "diffusion_steps": steps, "label": "cat", "guidance": guidance, "seed": 1}
        return [len(group) for group in handler.merged([(i, handler.parse(json_request(body))) for i in range(2)])]

    # The most steps at which 2 x 32 guided samples fit the cap together; one step more does not.
    steps = max(n for n in range(1, cap // 64 + 1) if 64 * (n + guided_steps_at(n)) <= cap)
    assert groups(steps, 2.0) == [2]
    assert groups(steps + 1, 2.0) == [1, 1]
    assert groups(steps + 1, 0.0) == [2]


def test_an_edit_is_charged_for_the_guided_steps_it_runs(diffusion2):
    handler, _ = diffusion2
    picture = base64.b64encode(encode_png(torch.full((3, 32, 32), 90, dtype=torch.uint8))).decode()
    body = {"num_samples": 1, "diffusion_steps": 20, "label": "cat", "guidance": 1.0, "seed": 1}
    scheduler = make_scheduler("dpmpp_2m", 0.0)
    scheduler.set_timesteps(20)
    from_half = scheduler.timesteps[scheduler.timesteps <= 0.5 + 1e-9]  # where strength 0.5 starts
    assert 0 < guided_steps(from_half) < guided_steps(scheduler.timesteps)
    assert handler.doubled_steps(handler.parse(json_request(body))) == guided_steps(scheduler.timesteps)
    edit = handler.parse(json_request({**body, "image": picture, "strength": 0.5}))
    assert handler.doubled_steps(edit) == guided_steps(from_half)
