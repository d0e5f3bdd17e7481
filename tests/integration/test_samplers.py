"""ebm and diffusion through a real TorchServe: answers, determinism, streaming, limits, isolation."""

import base64
import json
import threading
import time

import pytest
import requests

from tests.helpers import decode_png, max_level_difference
from tests.integration.conftest import cap_in_force

STEPS = {"ebm": "steps", "ebm/1.0": "steps", "diffusion": "diffusion_steps"}  # the field that counts the steps


def stream(client, model: str, body: dict) -> requests.Response:
    return requests.post(f"{client.server.inference_url}/predictions/{model}", json={**body, "stream": True},
                         headers=client.headers, stream=True, timeout=120)


@pytest.mark.parametrize("model", ["ebm", "ebm/1.0", "diffusion"])
def test_samplers_answer_a_grid_that_repeats_by_seed(client, model):
    body = {"num_samples": 16, STEPS[model]: 10, "seed": 5}
    first = client.predict(model, body)
    assert first.status_code == 200, first.text
    answer = first.json()
    assert answer["num_samples"] == 16 and answer["seed"] == 5 and answer[STEPS[model]] == 10
    grid = decode_png(answer["image_base64_png"])
    assert grid.size == (4 * 34 + 2, 4 * 34 + 2) and grid.mode == "RGB"
    assert client.predict(model, body).json()["image_base64_png"] == answer["image_base64_png"]
    png = client.predict(model, body, headers={"Accept": "image/png"})
    assert png.headers["Content-Type"].startswith("image/png")
    assert png.content == base64.b64decode(answer["image_base64_png"])


def test_ebm_serves_version_2_0_by_default_and_1_0_by_name(client, server):
    versions = server.management("GET", "/models/ebm/all").json()
    assert sorted(v["modelVersion"] for v in versions) == ["1.0", "2.0"]
    body = {"num_samples": 2, "seed": 7}
    default, v2, v1 = (client.predict(path, body).json() for path in ("ebm", "ebm/2.0", "ebm/1.0"))
    assert default == v2 and default["steps"] == 10  # each version's served defaults (model-config)
    assert v1["steps"] == 1000 and v1["image_base64_png"] != default["image_base64_png"]
    cap = cap_in_force(client.server, "ebm")  # 3200 (model-config), or less on a slow CPU
    assert cap <= 3200
    refused = client.predict("ebm", {"num_samples": 64, "steps": cap // 64 + 1})
    assert refused.status_code == 400 and refused.json()["allowed"] == f"num_samples x steps <= {cap}"


def test_ebm_1_0_takes_the_original_request(client):
    response = client.predict("ebm/1.0", {"num_samples": 4, "steps": 256, "step_size": 10.0, "noise": 0.01, "seed": 1})
    assert response.status_code == 200, response.text
    assert decode_png(response.json()["image_base64_png"]).size == (70, 70)


@pytest.mark.parametrize("model", ["ebm", "ebm/1.0", "diffusion"])
def test_stream_arrives_in_order_and_ends_with_a_png(client, model):
    response = stream(client, model, {"num_samples": 6, STEPS[model]: 24, "seed": 2})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/x-ndjson")
    messages = [json.loads(line) for line in response.iter_lines() if line]
    *progress, result = messages
    assert [(m["type"] in ("progress", "preview"), m["step"], m["steps"]) for m in progress] == \
        [(True, i, 24) for i in range(1, 25)]
    previews = [m for m in progress if m["type"] == "preview"]
    assert [m["step"] for m in previews] == [3, 6, 9, 12, 15, 18, 21, 24]
    assert decode_png(previews[0]["image_base64_png"]).size == (70, 70)
    assert result["type"] == "result" and result["num_samples"] == 6
    assert decode_png(result["image_base64_png"]).size == (3 * 34 + 2, 2 * 34 + 2)
    plain = client.predict(model, {"num_samples": 6, STEPS[model]: 24, "seed": 2}).json()
    assert plain["image_base64_png"] == result["image_base64_png"]


@pytest.mark.parametrize("model, body, field", [
    ("ebm", {"num_samples": 65}, "num_samples"), ("ebm", {"num_samples": 0}, "num_samples"),
    ("ebm", {"steps": 0}, "steps"), ("ebm", {"steps": 1001}, "steps"),
    ("ebm", {"num_samples": 64, "steps": 1000}, "num_samples"),
    ("ebm", {"step_size": -0.5}, "step_size"), ("ebm", {"step_size": 1e9}, "step_size"),
    ("ebm", {"noise": -1}, "noise"), ("ebm", {"noise": "much"}, "noise"),
    ("diffusion", {"num_samples": 65}, "num_samples"), ("diffusion", {"diffusion_steps": 0}, "diffusion_steps"),
    ("diffusion", {"diffusion_steps": 1001}, "diffusion_steps"),
    ("diffusion", {"num_samples": 64, "diffusion_steps": 200}, "num_samples"),
    ("diffusion", {"eta": 2}, "eta"), ("diffusion", {"stream": 1}, "stream"),
])
def test_every_limit_gets_400_naming_the_field(client, model, body, field):
    response = client.predict(model, body)
    assert response.status_code == 400 and response.json()["field"] == field, response.text
    assert response.json()["allowed"] in response.json()["error"]


@pytest.mark.parametrize("model", ["ebm", "diffusion"])
def test_non_finite_numbers_get_400(client, model):
    field = {"ebm": "step_size", "diffusion": "eta"}[model]
    response = client.predict(model, data=f'{{"{field}": NaN}}', headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["field"] == field, response.text


def test_a_long_sampling_request_does_not_block_the_other_models(client):
    response = stream(client, "diffusion", {"num_samples": 16, "diffusion_steps": 100, "seed": 1})
    lines = response.iter_lines()
    assert json.loads(next(lines))["step"] == 1  # the diffusion worker is busy now
    finished = threading.Event()

    def read_to_the_end():
        for _ in lines:
            pass
        finished.set()

    reader = threading.Thread(target=read_to_the_end)
    reader.start()
    started = time.time()
    answers = [client.predict("bigram", {"start_word": "the", "length": 5}),
               client.predict("ebm", {"num_samples": 2, "steps": 5}),
               client.predict("gan", {"num_samples": 2})]
    elapsed = time.time() - started
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert not finished.is_set(), f"the other models answered only after the diffusion request ({elapsed:.1f} s)"
    reader.join(timeout=120)
    assert finished.is_set()


@pytest.mark.parametrize("model", ["diffusion", "ebm"])
def test_concurrent_requests_get_what_each_gets_alone_streamed_or_not(client, model):
    """Requests that arrive together may share a batch and one sampler call (model-config batchSize):
    each keeps its own seed, and each stream its own progress."""
    bodies = [{"num_samples": n, STEPS[model]: 12, "seed": seed, "format": "images"}
              for n, seed in ((3, 21), (2, 22), (4, 23), (1, 24))]
    alone = [client.predict(model, body).json()["images_base64_png"] for body in bodies]
    together, streamed = [None] * 4, [None] * 4

    def ask(index):
        together[index] = client.predict(model, bodies[index]).json()["images_base64_png"]
        lines = [json.loads(line) for line in stream(client, model, bodies[index]).iter_lines() if line]
        streamed[index] = lines

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index, body in enumerate(bodies):
        assert together[index] == alone[index] or max_level_difference(together[index], alone[index]) <= 1
        *progress, result = streamed[index]
        assert [m["step"] for m in progress] == list(range(1, 13)) and result["type"] == "result"
        assert len(result["images_base64_png"]) == body["num_samples"]
