"""The ebm and diffusion handlers, with random weights, called as TorchServe calls them."""

import base64
import json

import numpy as np
import pytest
import torch

import handlers.stream
import models.precision
from handlers.diffusion import DiffusionHandler
from handlers.ebm import EbmHandler
from models.annealed_langevin import annealed_langevin
from models.diffusion_sampler import reverse_diffusion
from models.energy_net import EnergyNet
from models.langevin import sample_from_noise
from tests.helpers import (
    TINY_UNET_ARGS,
    LocalContext,
    decode_png,
    handle,
    json_request,
    loaded,
    save_weights,
    tiny_energy,
    tiny_unet,
)


@pytest.fixture
def ebm(tmp_path):
    torch.manual_seed(0)
    save_weights(tmp_path, "ebm", "1.0", EnergyNet(width=1), {"width": 1}, sample_from_noise)
    return loaded(EbmHandler, "ebm", tmp_path)


@pytest.fixture
def ebm2(tmp_path):
    save_weights(tmp_path, "ebm", "2.0", tiny_energy(), TINY_UNET_ARGS, annealed_langevin)
    return loaded(EbmHandler, "ebm", tmp_path, "2.0")


@pytest.fixture
def diffusion(tmp_path):
    save_weights(tmp_path, "diffusion", "1.0", tiny_unet(), TINY_UNET_ARGS, reverse_diffusion)
    return loaded(DiffusionHandler, "diffusion", tmp_path)


def answer(handler, context, body, headers=None):
    context.request_headers = {0: headers or {}}
    [(status, out)] = handle(handler, context, [json_request(body)])
    return status, out


@pytest.mark.parametrize("sampler", ["ebm", "ebm2", "diffusion"])
def test_samplers_answer_a_grid_individual_images_and_png_bytes(sampler, request):
    handler, context = request.getfixturevalue(sampler)
    steps = handler.steps_field
    status, out = answer(handler, context, {"num_samples": 4, steps: 3, "seed": 1})
    body = json.loads(out)
    assert status == 200 and body["num_samples"] == 4 and body["seed"] == 1 and body[steps] == 3
    assert decode_png(body["image_base64_png"]).size == (2 + 2 * 34, 2 + 2 * 34)
    _, again = answer(handler, context, {"num_samples": 4, steps: 3, "seed": 1})
    assert json.loads(again)["image_base64_png"] == body["image_base64_png"]
    _, other = answer(handler, context, {"num_samples": 4, steps: 3, "seed": 2})
    assert json.loads(other)["image_base64_png"] != body["image_base64_png"]
    _, images = answer(handler, context, {"num_samples": 3, steps: 2, "format": "images"})
    assert [decode_png(i).size for i in json.loads(images)["images_base64_png"]] == [(32, 32)] * 3
    _, png = answer(handler, context, {"num_samples": 4, steps: 3, "seed": 1}, {"Accept": "image/png"})
    assert context.content_types[0] == "image/png" and png == base64.b64decode(body["image_base64_png"])


def test_ebm_follows_the_energy_gradient_inside_inference_mode(ebm):
    handler, context = ebm
    with torch.inference_mode():  # as TorchServe's default path would run it
        _, still = answer(handler, context, {"num_samples": 2, "steps": 5, "step_size": 0.0, "noise": 0.0,
                                             "seed": 3, "format": "images"})
        _, moved = answer(handler, context, {"num_samples": 2, "steps": 5, "step_size": 10.0, "noise": 0.0,
                                             "seed": 3, "format": "images"})
    pixels = [[np.asarray(decode_png(i)) for i in json.loads(a)["images_base64_png"]] for a in (still, moved)]
    assert all(not np.array_equal(a, b) for a, b in zip(*pixels))  # only the gradient changed them


def test_ebm_2_has_its_own_defaults_and_cost_cap_and_follows_the_energy_in_inference_mode(ebm2):
    handler, context = ebm2
    assert (handler.defaults["steps"], handler.limits["max_sample_steps"]) == (10, 3200)  # model-config, 2.0
    with torch.inference_mode():
        status, out = answer(handler, context, {"num_samples": 1, "seed": 3})
        _, still = answer(handler, context, {"num_samples": 2, "steps": 3, "step_size": 0.0, "seed": 3,
                                             "format": "images"})
        _, moved = answer(handler, context, {"num_samples": 2, "steps": 3, "step_size": 1.0, "seed": 3,
                                             "format": "images"})
    assert status == 200 and json.loads(out)["steps"] == 10
    pixels = [[np.asarray(decode_png(i)) for i in json.loads(a)["images_base64_png"]] for a in (still, moved)]
    assert all(not np.array_equal(a, b) for a, b in zip(*pixels))
    status, out = answer(handler, context, {"num_samples": 64, "steps": 51})
    assert status == 400 and json.loads(out)["allowed"] == "num_samples x steps <= 3200"


def test_ebm_2_takes_the_second_order_chain_with_noise_0_only(ebm2, ebm):
    handler, context = ebm2
    assert handler.fields["sampler"].default == "dpmpp_2m"
    second = {"num_samples": 2, "steps": 4, "seed": 3, "sampler": "dpmpp_2m", "format": "images"}
    status, out = answer(handler, context, second)
    assert status == 200 and out != answer(handler, context, {**second, "sampler": "ddim"})[1]
    for body, field, allowed in [({**second, "noise": 0.5}, "noise", "0 with sampler dpmpp_2m"),
                                 ({**second, "sampler": "euler"}, "sampler", "one of ddim, dpmpp_2m")]:
        status, out = answer(handler, context, body)
        assert status == 400 and (json.loads(out)["field"], json.loads(out)["allowed"]) == (field, allowed)
    assert "'noise' is 0.5" in json.loads(answer(handler, context, {**second, "noise": 0.5})[1])["error"]
    status, out = answer(*ebm, {"sampler": "dpmpp_2m"})  # 1.0's chain is the course recipe's: no choice
    assert status == 400 and json.loads(out)["field"] == "sampler"


@pytest.mark.parametrize("body, field", [
    ({"num_samples": 65}, "num_samples"), ({"num_samples": 0}, "num_samples"), ({"steps": 0}, "steps"),
    ({"steps": 1001}, "steps"), ({"num_samples": 64, "steps": 1000}, "num_samples"),
    ({"step_size": float("nan")}, "step_size"), ({"step_size": float("inf")}, "step_size"),
    ({"step_size": -1.0}, "step_size"), ({"noise": 2.0}, "noise"), ({"noise": "a lot"}, "noise"),
    ({"stream": "yes"}, "stream"), ({"diffusion_steps": 5}, "diffusion_steps"),
])
def test_ebm_limits_answer_400_naming_the_field(ebm, body, field):
    handler, context = ebm
    status, out = answer(handler, context, body)
    error = json.loads(out)
    assert status == 400 and error["field"] == field and error["allowed"]


@pytest.mark.parametrize("body, field, allowed", [
    ({"diffusion_steps": 1001}, "diffusion_steps", "an integer in 1..1000"),
    ({"num_samples": 64, "diffusion_steps": 101}, "num_samples", "num_samples x diffusion_steps <= 6400"),
    ({"eta": 1.5}, "eta", "a number in 0.0..1.0"), ({"eta": float("nan")}, "eta", "a number in 0.0..1.0"),
    ({"sampler": "euler"}, "sampler", "one of ddim, dpmpp_2m"), ({"sampler": 2}, "sampler", "one of ddim, dpmpp_2m"),
    ({"sampler": "dpmpp_2m", "eta": 0.5}, "eta", "0 with sampler dpmpp_2m"),
])
def test_diffusion_limits_quote_the_limit(diffusion, body, field, allowed):
    handler, context = diffusion
    status, out = answer(handler, context, body)
    assert status == 400 and json.loads(out)["field"] == field and json.loads(out)["allowed"] == allowed


def test_diffusion_serves_both_samplers_by_seed(diffusion):
    handler, context = diffusion
    body = {"num_samples": 2, "diffusion_steps": 4, "seed": 5}
    ddim = answer(handler, context, {**body, "sampler": "ddim"})
    assert ddim[0] == 200 and ddim == answer(handler, context, {**body, "sampler": "ddim"})
    dpm = answer(handler, context, {**body, "sampler": "dpmpp_2m"})
    assert dpm[0] == 200 and dpm == answer(handler, context, {**body, "sampler": "dpmpp_2m"}) and dpm != ddim
    assert answer(handler, context, body) == dpm  # the default (archive/diffusion/model-config.yaml)


@pytest.mark.parametrize("sampler", ["ebm", "diffusion"])
def test_stream_sends_each_step_then_previews_then_the_result(sampler, request, monkeypatch):
    handler, context = request.getfixturevalue(sampler)
    sent = []
    monkeypatch.setattr(handlers.stream, "send_intermediate_predict_response",
                        lambda ret, ids, message, code, ctx: sent.append((ids, ret)))
    steps = handler.steps_field
    status, final = answer(handler, context, {"num_samples": 5, steps: 16, "seed": 4, "stream": True})
    messages = [json.loads(ret[0]) for _, ret in sent]
    assert status == 200 and all(ids == {0: "request-0"} for ids, _ in sent)
    assert [(m["step"], m["steps"]) for m in messages] == [(i, 16) for i in range(1, 17)]
    previews = [m["step"] for m in messages if m["type"] == "preview"]
    assert previews == [2, 4, 6, 8, 10, 12, 14, 16]  # 8 previews a request (model-config)
    assert decode_png(messages[1]["image_base64_png"]).size == (70, 70)  # the first 4 samples
    assert final.endswith("\n") and context.content_types[0] == "application/x-ndjson"
    result = json.loads(final)
    assert result["type"] == "result" and decode_png(result["image_base64_png"]).size == (104, 70)  # 3 x 2
    _, plain = answer(handler, context, {"num_samples": 5, steps: 16, "seed": 4})
    assert json.loads(plain)["image_base64_png"] == result["image_base64_png"]


@pytest.mark.parametrize("failing_step", [3, 1])
def test_a_failing_sampler_ends_the_stream_with_an_error_line(ebm, monkeypatch, failing_step):
    handler, context = ebm
    sent = []
    monkeypatch.setattr(handlers.stream, "send_intermediate_predict_response",
                        lambda ret, ids, message, code, ctx: sent.append(json.loads(ret[0])))

    def fail_at_step(network, seeds, steps, on_step, **settings):
        for step in range(1, failing_step) if on_step else ():
            on_step(step, steps, torch.zeros(len(seeds), 3, 32, 32, dtype=torch.uint8))
        raise RuntimeError("out of memory")

    monkeypatch.setattr(handler, "draw", fail_at_step)
    status, final = answer(handler, context, {"num_samples": 2, "steps": 10, "stream": True})
    assert [m["step"] for m in sent] == list(range(1, failing_step))
    # TorchServe sends this status only while no progress line has gone out (then it is a plain 500)
    assert status == 500 and context.content_types[0] == "application/x-ndjson"
    error = json.loads(final)
    assert error["type"] == "error" and error["code"] == 500 and "RuntimeError" in error["error"]
    with pytest.raises(RuntimeError):  # without a stream, TorchServe answers the failure itself
        answer(handler, context, {"num_samples": 2, "steps": 10})


@pytest.mark.parametrize("steps, expected", [(50, [7, 13, 19, 25, 32, 38, 44, 50]), (3, [1, 2, 3]),
                                             (8, [1, 2, 3, 4, 5, 6, 7, 8])])
def test_previews_are_evenly_spaced_and_end_at_the_last_step(steps, expected, monkeypatch):
    sent = []
    monkeypatch.setattr(handlers.stream, "send_intermediate_predict_response",
                        lambda ret, ids, message, code, ctx: sent.append(json.loads(ret[2])))
    context = LocalContext("ebm", ".")
    progress = handlers.stream.ProgressStream(context, 2, previews=8, preview_samples=4)
    for step in range(1, steps + 1):
        progress(step, steps, torch.zeros(6, 3, 8, 8, dtype=torch.uint8))
    assert [m["step"] for m in sent if m["type"] == "preview"] == expected
    assert len(sent) == steps and context.content_types[2] == "application/x-ndjson"


def pixels(answer_json):
    return np.stack([np.asarray(decode_png(image)) for image in json.loads(answer_json)["images_base64_png"]])


@pytest.mark.parametrize("sampler, settings", [
    ("ebm", {"noise": 0.02}), ("ebm2", {"sampler": "ddim", "noise": 0.5}), ("ebm2", {}),
    ("diffusion", {"sampler": "ddim", "eta": 0.5}), ("diffusion", {"sampler": "dpmpp_2m"})])
def test_a_merged_batch_gives_each_request_the_images_it_gets_alone(sampler, settings, request, monkeypatch):
    handler, context = request.getfixturevalue(sampler)
    calls = []
    original = handler.draw
    monkeypatch.setattr(handler, "draw", lambda net, seeds, *args, **kw: calls.append(seeds.counts) or
                        original(net, seeds, *args, **kw))
    steps = handler.steps_field
    bodies = [{"num_samples": n, steps: 6, "seed": seed, "format": "images", **settings}
              for n, seed in ((3, 11), (1, 12), (2, 13))]
    alone = [pixels(answer(handler, context, body)[1]) for body in bodies]
    calls.clear()
    merged = handle(handler, context, [json_request(body) for body in bodies])
    assert calls == [[3, 1, 2]]  # one sampler call for the three requests
    for (status, out), own in zip(merged, alone):
        assert status == 200
        # The same noise; a convolution's rounding may depend on the batch size (seen here: one
        # level on one pixel of 9,216), and the samplers amplify it only slightly in 6 steps.
        difference = np.abs(pixels(out).astype(int) - own)
        assert difference.max() <= 1 and (difference > 0).mean() <= 0.001


def test_requests_merge_only_with_the_same_settings_and_within_the_cost_cap(diffusion):
    handler, _ = diffusion
    cap = handler.limits["max_sample_steps"]

    def params(num_samples, steps, **settings):
        return {"num_samples": num_samples, "seed": 1, "format": "grid", "stream": False, "diffusion_steps": steps,
                "sampler": "ddim", "eta": 0.0, **settings}

    batch = list(enumerate([params(4, 10), params(4, 20), params(4, 10, eta=0.5), params(4, 10, stream=True),
                            params(4, 10)]))
    assert [[index for index, _ in group] for group in handler.merged(batch)] == [[0, 4], [1], [2], [3]]
    big = list(enumerate([params(64, cap // 64), params(1, cap // 64), params(32, cap // 64), params(32, cap // 64)]))
    assert [[index for index, _ in group] for group in handler.merged(big)] == [[0], [1, 2], [3]]


def test_merged_streams_each_get_their_own_progress(diffusion, monkeypatch):
    handler, context = diffusion
    sent = []
    monkeypatch.setattr(handlers.stream, "send_intermediate_predict_response",
                        lambda ret, ids, message, code, ctx: sent.append((ids, ret)))
    bodies = [{"num_samples": n, "diffusion_steps": 4, "seed": seed, "stream": True} for n, seed in ((2, 1), (5, 2))]
    results = handle(handler, context, [json_request(body) for body in bodies])
    assert [status for status, _ in results] == [200, 200]
    for index in (0, 1):
        lines = [json.loads(ret[index]) for ids, ret in sent if ids == {index: f"request-{index}"}]
        assert [line["step"] for line in lines] == [1, 2, 3, 4]
        preview = decode_png(lines[-1]["image_base64_png"])
        assert preview.size == ((70, 36) if index == 0 else (70, 70))  # its own first samples: 2, or 4 of 5
        assert json.loads(results[index][1])["num_samples"] == bodies[index]["num_samples"]


def test_channels_last_and_bf16_are_taken_from_the_model_config(tmp_path, monkeypatch):
    save_weights(tmp_path, "diffusion", "1.0", tiny_unet(), TINY_UNET_ARGS, reverse_diffusion)
    monkeypatch.setattr(models.precision, "native_bf16", lambda device: True)
    answers = {}
    for channels_last, precision in ((False, "fp32"), (True, "fp32"), (True, "auto")):
        handler, context = DiffusionHandler(), LocalContext("diffusion", tmp_path)
        context.model_yaml_config["handler"].update(channels_last=channels_last, precision=precision)
        handler.initialize(context)
        weight = next(m.weight for m in handler.network.modules()
                      if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3))
        assert weight.is_contiguous(memory_format=torch.channels_last) == channels_last
        assert handler.precision == ("bf16" if precision == "auto" else "fp32")
        status, out = answer(handler, context, {"num_samples": 2, "diffusion_steps": 4, "seed": 1, "format": "images"})
        assert status == 200
        answers[(channels_last, precision)] = pixels(out).astype(int)
    # The layout changes the order of the sums only; bf16 rounds every convolution's inputs.
    assert np.abs(answers[(True, "fp32")] - answers[(False, "fp32")]).max() <= 2
    assert 0 < np.abs(answers[(True, "auto")] - answers[(False, "fp32")]).mean() < 20
