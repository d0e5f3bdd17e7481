"""diffusion 2.0 (the default) through a real TorchServe: versions, the asked class judged by the
served classifier, seeded determinism with labels, concurrent requests merged with their own seeds
and labels, guided inpainting streamed, and the guided cost cap; and 2.1 and 2.2, its distilled students."""

import base64
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from models.catalog import ROOT
from tests.helpers import decode_png, max_level_difference
from tests.integration.conftest import cap_in_force

SHIP = ROOT / "tests" / "fixtures" / "cifar10" / "ship.jpg"


def test_diffusion_serves_version_2_0_by_default_and_1_0_by_name(client, server):
    versions = server.management("GET", "/models/diffusion/all").json()
    assert sorted(v["modelVersion"] for v in versions) == ["1.0", "2.0", "2.1", "2.2"]
    body = {"num_samples": 2, "seed": 7, "diffusion_steps": 4}
    default, v2, v1 = (client.predict(path, body).json() for path in ("diffusion", "diffusion/2.0", "diffusion/1.0"))
    assert default == v2 and "labels" not in default
    assert v1["image_base64_png"] != default["image_base64_png"]
    refused = client.predict("diffusion/1.0", {**body, "label": "ship"})
    assert refused.status_code == 400 and refused.json()["field"] == "label"


def test_the_asked_class_is_what_the_served_classifier_sees(client):
    body = {"num_samples": 8, "label": "ship", "guidance": 3.0, "seed": 11, "format": "images"}
    answer = client.predict("diffusion", body)
    assert answer.status_code == 200, answer.text
    out = answer.json()
    assert out["labels"] == ["ship"] * 8 and out["guidance"] == 3.0
    assert client.predict("diffusion", body).json() == out
    predicted = [client.predict("cifar10", data=base64.b64decode(png), headers={"Content-Type": "image/png"})
                 .json()["pred_label"] for png in out["images_base64_png"]]
    assert predicted.count("ship") >= 6, predicted


def test_concurrent_requests_keep_their_own_seeds_and_labels(client):
    bodies = [{"num_samples": 2, "label": label, "seed": seed, "diffusion_steps": 5, "format": "images"}
              for seed, label in ((1, "cat"), (2, ["horse", "frog"]), (3, "cat"), (4, None))]
    bodies[3].pop("label")
    alone = [client.predict("diffusion", body).json() for body in bodies]
    with ThreadPoolExecutor(len(bodies)) as pool:
        together = list(pool.map(lambda body: client.predict("diffusion", body).json(), bodies))
    images = [(merged.pop("images_base64_png"), single.pop("images_base64_png"))
              for merged, single in zip(together, alone)]
    assert together == alone  # everything but the pictures, which a merged batch may round one level apart
    assert all(max_level_difference(*pair) <= 1 for pair in images)
    assert [out.get("labels") for out in together] == [["cat", "cat"], ["horse", "frog"], ["cat", "cat"], None]
    assert max_level_difference(images[0][0], images[2][0]) > 10  # the same class, another seed


def test_guided_inpainting_streams_its_previews_and_ends_with_the_unstreamed_answer(client):
    body = {"image": base64.b64encode(SHIP.read_bytes()).decode(), "box": [8, 8, 24, 24], "label": "ship",
            "num_samples": 2, "diffusion_steps": 6, "seed": 3}
    plain = client.predict("diffusion", body).json()
    response = requests.post(f"{client.server.inference_url}/predictions/diffusion", json={**body, "stream": True},
                             headers=client.headers, stream=True, timeout=120)
    assert response.status_code == 200
    *progress, result = [json.loads(line) for line in response.iter_lines() if line]
    assert progress and all("step" in message for message in progress)
    assert result["labels"] == plain["labels"] == ["ship", "ship"] and result["strength"] == 1.0
    assert result["image_base64_png"] == plain["image_base64_png"]
    assert decode_png(plain["image_base64_png"]).size == (2 * 34 + 2, 34 + 2)


def test_guided_steps_count_twice_against_the_served_cap(client):
    # Of 61 DPM-Solver++(2M) steps, 36 are guided (models/guidance.py): 64 x 97 evaluations, over the cap.
    guided = client.predict("diffusion", {"num_samples": 64, "diffusion_steps": 61, "label": "cat", "guidance": 1.0})
    assert guided.status_code == 400 and "64 x (61 + 36) = 6208" in guided.json()["error"]
    cap = cap_in_force(client.server, "diffusion")  # 6100, or less on a slow CPU
    assert guided.json()["allowed"] == f"num_samples x (diffusion_steps + guided steps) <= {cap}"


@pytest.mark.parametrize("version, calls", [("2.1", 4), ("2.2", 3)])
def test_the_distilled_students_answer_in_their_few_calls_streamed_and_merged(client, version, calls):
    """2.1 and 2.2: one progress line a call, the same answer streamed or not and merged or alone, the
    classes asked for as the served classifier sees them, and no guidance."""
    path = f"diffusion/{version}"
    body = {"num_samples": 8, "label": "ship", "seed": 1, "format": "images"}
    plain = client.predict(path, body).json()
    assert plain["diffusion_steps"] == calls and plain["labels"] == ["ship"] * 8 and "guidance" not in plain
    response = requests.post(f"{client.server.inference_url}/predictions/{path}", json={**body, "stream": True},
                             headers=client.headers, stream=True, timeout=120)
    *progress, result = [json.loads(line) for line in response.iter_lines() if line]
    assert [message["step"] for message in progress] == list(range(1, calls + 1))  # one line a network call
    assert result.pop("type") == "result" and result == plain
    predicted = [client.predict("cifar10", data=base64.b64decode(png), headers={"Content-Type": "image/png"})
                 .json()["pred_label"] for png in plain["images_base64_png"]]
    assert predicted.count("ship") >= 6, predicted
    bodies = [{"num_samples": 2, "seed": seed, "diffusion_steps": steps, "label": label, "format": "images"}
              for seed, steps, label in ((1, calls, "cat"), (2, calls, "frog"), (3, 2, "cat"))]
    alone = [client.predict(path, b).json() for b in bodies]
    with ThreadPoolExecutor(len(bodies)) as pool:
        together = list(pool.map(lambda b: client.predict(path, b).json(), bodies))
    images = [(merged.pop("images_base64_png"), single.pop("images_base64_png"))
              for merged, single in zip(together, alone)]
    assert together == alone and all(max_level_difference(*pair) <= 1 for pair in images)
    refused = client.predict(path, {"label": "cat", "guidance": 3.0})
    assert refused.status_code == 400 and refused.json()["field"] == "guidance"
