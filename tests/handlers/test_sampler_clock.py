"""The cost cap in force and the batch budget (handlers/sampler_clock.py) on a deliberately slow
network, so that the figures do not depend on the machine: every network call spends SLOW CPU
seconds a sample, and the model's responseTimeout is TIMEOUT seconds."""

import json
import math
import time

import pytest

from bench.local_context import LocalContext
from handlers.diffusion import DiffusionHandler
from models.diffusion_sampler import reverse_diffusion
from models.unet import UNet
from tests.helpers import TINY_UNET_ARGS, handle, json_request, save_weights, tiny_unet

SLOW = 0.02
TIMEOUT = 4.0


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    folder = tmp_path_factory.mktemp("weights")
    save_weights(folder, "diffusion", "1.0", tiny_unet(), TINY_UNET_ARGS, reverse_diffusion)
    return folder


def loaded(weights, timeout):
    handler, context = DiffusionHandler(), LocalContext("diffusion", weights, "1.0")
    context.model_yaml_config = {**context.model_yaml_config, "responseTimeout": timeout}
    handler.initialize(context)
    return handler, context


@pytest.fixture
def slow(weights, monkeypatch):
    fast_forward = UNet.forward

    def slow_forward(self, x, *args):
        end = time.process_time() + SLOW * len(x)
        while time.process_time() < end:
            pass
        return fast_forward(self, x, *args)
    monkeypatch.setattr(UNet, "forward", slow_forward)
    return loaded(weights, TIMEOUT)


def at_cost(handler, evaluations):
    """A request of at most `evaluations` sample-steps, and more than half that."""
    samples = min(handler.limits["num_samples"][1], evaluations)
    return {"num_samples": samples, "diffusion_steps": evaluations // samples, "seed": 1}


def test_the_cap_in_force_is_what_the_worker_samples_within_a_third_of_the_timeout(slow):
    handler, context = slow
    assert SLOW <= handler.clock.seconds_per_evaluation < 2 * SLOW
    cap = handler.max_sample_steps
    assert cap == math.floor(TIMEOUT / 3 / handler.clock.seconds_per_evaluation) < handler.limits["max_sample_steps"]
    cost = handler.describe()["cost"]
    assert cost["max_sample_steps"] == cap and cost["model_config_max_sample_steps"] == 6400
    assert cost["response_timeout"] == TIMEOUT and cost["batch_budget_seconds"] == TIMEOUT / 3

    over = {"num_samples": 1, "diffusion_steps": cap + 1, "seed": 1}
    [(status, out)] = handle(handler, context, [json_request(over)])
    out = json.loads(out)
    assert status == 400 and out["field"] == "num_samples"
    assert out["allowed"] == f"num_samples x diffusion_steps <= {cap}" and "on this server" in out["error"]
    start = time.perf_counter()
    [(status, _)] = handle(handler, context, [json_request({**over, "diffusion_steps": cap})])
    assert status == 200 and time.perf_counter() - start < TIMEOUT


def test_a_batch_runs_only_what_ends_within_a_third_of_the_timeout_and_answers_the_rest_503(slow):
    handler, context = slow
    full = at_cost(handler, handler.max_sample_steps)
    start = time.perf_counter()
    answers = handle(handler, context, [json_request({**full, "seed": seed}) for seed in range(4)])
    assert time.perf_counter() - start < TIMEOUT
    assert [status for status, _ in answers] == [200, 503, 503, 503]
    assert all(context.response_headers[i] == {"Retry-After": "1"} for i in (1, 2, 3))
    assert "busy" in answers[1][1] and "retry" in answers[1][1]
    assert [status for status, _ in handle(handler, context, [json_request(full)])] == [200]  # the worker serves on


def test_requests_merged_into_one_call_within_the_cap_all_run(slow):
    handler, context = slow
    quarter = at_cost(handler, handler.max_sample_steps // 4)
    assert len(handler.merged([(i, handler.parse(json_request(quarter))) for i in range(4)])) == 1
    assert [status for status, _ in handle(handler, context, [json_request(quarter)] * 4)] == [200] * 4


def test_a_fast_enough_worker_keeps_the_model_configs_cap(weights):
    handler, _ = loaded(weights, 360)
    assert handler.max_sample_steps == handler.limits["max_sample_steps"] == 6400
