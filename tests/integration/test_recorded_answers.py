"""Served answers for fixed seeds stay what they were when recorded (before the issue-10 refactor).

Every case's response (status, content type, body) is compared byte for byte with
`recorded_answers.json`. Floating-point kernels differ between CPU kinds, so on a CPU other than
the recording's (another model name, or another capability: two AVX-512 CPUs of two vendors pick
different kernels), images may differ by a rounding step and numbers in the last digits: there the
comparison decodes the answers and allows exactly that, no more.

Recorded again since: the diffusion answers when its workers went channels-last (they moved by at
most one intensity level, checked before recording); the diffusion answers that take the default
sampler when it became DPM-Solver++(2M) at 10 steps (the eta case names DDIM, which takes eta);
ebm 1.0's answers that take its default noise when that went from 0.01 to 0.005 and its default
steps from 256 to 1000; the diffusion unknown-field refusal when the editing fields (image, mask,
strength, box) joined the allowed ones (edited in place: only that list changed); bigram's answers
sampled at temperature 1 without top_k ("bigram sample", "bigram default length") when its sampler
began to draw from Kneser-Ney's two parts directly (edited in place from the handler's answers; the
reshaped "bigram top_k", drawn as before, is unchanged). Added since:
cifar10 3.0's answer when it became the default, recorded on another CPU than the rest, which it
names (an answer's own `cpu` and `cpu_capability` say where it was recorded, where they differ from
the file's).

Record again (only when an answer is meant to change) with:
    RECORD_ANSWERS=1 python -m pytest tests/integration/test_recorded_answers.py
"""

import base64
import json
import os
from pathlib import Path

import numpy as np
import pytest
import requests
import torch

from models.cpu import cpu_name
from tests.helpers import decode_png

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "cifar10"
RECORDED = Path(__file__).resolve().parent / "recorded_answers.json"
SHIP = str(FIXTURES / "ship.jpg")

# (name, path, JSON body or the fixture image to send raw, extra headers)
CASES = [
    ("bigram sample", "bigram", {"start_word": "the", "length": 30, "seed": 1}, {}),
    ("bigram greedy", "bigram", {"start_word": "Count", "length": 12, "strategy": "greedy", "seed": 0}, {}),
    ("bigram top_k", "bigram", {"start_word": "sea", "length": 20, "top_k": 5, "temperature": 0.7,
                                "seed": 9}, {}),
    ("bigram bad length", "bigram", {"start_word": "the", "length": 501}, {}),
    ("embed word", "embed", {"word": "king"}, {}),
    ("embed words", "embed", {"words": ["the old sailor", "zzqxj"]}, {}),
    ("embed both", "embed", {"word": "a", "words": ["b"]}, {}),
    ("similar", "similar", {"word": "king", "top_k": 5}, {}),
    ("similar phrase", "similar", {"word": "sea captain"}, {}),
    ("similar no vector", "similar", {"word": "zzqxj"}, {}),
    # "cifar10 raw" names version 2.0: it was recorded when that was the default.
    ("cifar10 raw", "cifar10/2.0", SHIP, {"Content-Type": "image/jpeg"}),
    ("cifar10 3.0 raw", "cifar10/3.0", SHIP, {"Content-Type": "image/jpeg"}),
    ("cifar10 2.0 base64", "cifar10/2.0", {"image": "cifar10/horse.jpg", "top_k": 5}, {}),
    ("cifar10 1.0 raw", "cifar10/1.0", SHIP, {"Content-Type": "image/jpeg"}),
    ("cifar10 not an image", "cifar10", b"not an image", {"Content-Type": "application/octet-stream"}),
    ("gan grid", "gan", {"num_samples": 4, "seed": 1}, {}),
    ("gan digit images", "gan", {"num_samples": 3, "seed": 2, "digit": 7, "format": "images"}, {}),
    ("gan png", "gan", {"num_samples": 5, "seed": 3}, {"Accept": "image/png"}),
    ("gan 1.0", "gan/1.0", {"num_samples": 4, "seed": 1}, {}),
    ("gan 1.0 digit", "gan/1.0", {"digit": 3}, {}),
    # The ebm cases name version 1.0: they were recorded when it was the default.
    ("ebm defaults", "ebm/1.0", {"num_samples": 2, "seed": 1}, {}),
    ("ebm steps", "ebm/1.0", {"num_samples": 4, "steps": 20, "step_size": 5.0, "noise": 0.02, "seed": 2}, {}),
    ("ebm stream", "ebm/1.0", {"num_samples": 2, "steps": 8, "seed": 3, "stream": True}, {}),
    ("ebm too costly", "ebm/1.0", {"num_samples": 64, "steps": 1000}, {}),
    # The diffusion cases name version 1.0: they were recorded when it was the default.
    ("diffusion defaults", "diffusion/1.0", {"num_samples": 2, "seed": 1}, {}),
    ("diffusion eta", "diffusion/1.0", {"num_samples": 4, "diffusion_steps": 10, "sampler": "ddim", "eta": 0.5,
                                    "seed": 2}, {}),
    ("diffusion stream", "diffusion/1.0", {"num_samples": 2, "diffusion_steps": 8, "seed": 3, "stream": True}, {}),
    ("diffusion images png", "diffusion/1.0", {"num_samples": 2, "diffusion_steps": 5, "seed": 4},
     {"Accept": "image/png"}),
    # The defaults and ranges that moved into the model-configs, and the field order in "allowed fields".
    ("bigram default length", "bigram", {"start_word": "sea", "seed": 2}, {}),
    ("bigram unknown field", "bigram", {"start_word": "sea", "colour": 1}, {}),
    ("embed unknown field", "embed", {"word": "sea", "colour": 1}, {}),
    ("similar bad top_k", "similar", {"word": "sea", "top_k": 101}, {}),
    ("cifar10 unknown field", "cifar10", {"image": "cifar10/cat.jpg", "colour": 1}, {}),
    ("cifar10 bad top_k", "cifar10", {"image": "cifar10/cat.jpg", "top_k": 11}, {}),
    ("gan default num_samples", "gan", {"seed": 4}, {}),
    ("gan bad digit", "gan", {"digit": 10}, {}),
    ("gan unknown field", "gan", {"colour": 1}, {}),
    ("ebm bad step_size", "ebm/1.0", {"step_size": -1}, {}),
    ("ebm unknown field", "ebm/1.0", {"colour": 1}, {}),
    ("diffusion bad eta", "diffusion/1.0", {"eta": 2}, {}),
    ("diffusion unknown field", "diffusion/1.0", {"colour": 1}, {}),
]


def send(client, path, payload, headers) -> requests.Response:
    url = f"{client.server.inference_url}/predictions/{path}"
    headers = {**client.headers, **headers}
    if isinstance(payload, bytes):
        return requests.post(url, data=payload, headers=headers, timeout=120)
    if isinstance(payload, str):
        return requests.post(url, data=Path(payload).read_bytes(), headers=headers, timeout=120)
    if "image" in payload:  # a fixture image, sent as base64 in the JSON
        image = (FIXTURES.parent / payload["image"]).read_bytes()
        payload = {**payload, "image": base64.b64encode(image).decode()}
    return requests.post(url, json=payload, headers=headers, timeout=120)


def record_of(response: requests.Response) -> dict:
    return {"status": response.status_code, "content_type": response.headers.get("Content-Type", ""),
            "body_base64": base64.b64encode(response.content).decode()}


@pytest.fixture(scope="module")
def recorded():
    if os.environ.get("RECORD_ANSWERS"):
        return None
    return json.loads(RECORDED.read_text())


def test_record(client, recorded):
    if recorded is not None:
        pytest.skip("RECORD_ANSWERS is not set")
    answers = {name: record_of(send(client, path, payload, headers)) for name, path, payload, headers in CASES}
    RECORDED.write_text(json.dumps({"cpu": cpu_name(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                                    "answers": answers}, indent=1) + "\n")


@pytest.mark.parametrize("name, path, payload, headers", CASES, ids=[case[0] for case in CASES])
def test_answers_are_the_recorded_ones(client, recorded, name, path, payload, headers):
    if recorded is None:
        pytest.skip("recording")
    expected = recorded["answers"][name]
    actual = record_of(send(client, path, payload, headers))
    assert (actual["status"], actual["content_type"]) == (expected["status"], expected["content_type"])
    recorded_on = (expected.get("cpu", recorded["cpu"]), expected.get("cpu_capability", recorded["cpu_capability"]))
    if recorded_on == (cpu_name(), torch.backends.cpu.get_cpu_capability()):
        assert actual["body_base64"] == expected["body_base64"]
    else:
        assert_close(base64.b64decode(actual["body_base64"]), base64.b64decode(expected["body_base64"]),
                     expected["content_type"])


def assert_close(actual: bytes, expected: bytes, content_type: str) -> None:
    """Equal but for floating-point rounding: images within one level, numbers within 1e-5."""
    if content_type.startswith("image/png"):
        assert_images_close(actual, expected)
    elif content_type.startswith("application/x-ndjson"):
        lines = [json.loads(line) for line in actual.splitlines()], [json.loads(line) for line in expected.splitlines()]
        assert len(lines[0]) == len(lines[1])
        for a, e in zip(*lines):
            assert_json_close(a, e)
    else:
        assert_json_close(json.loads(actual), json.loads(expected))


def assert_json_close(actual, expected) -> None:
    if isinstance(expected, dict):
        assert sorted(actual) == sorted(expected)
        for key in expected:
            assert_json_close(actual[key], expected[key])
    elif isinstance(expected, list):
        assert len(actual) == len(expected)
        for a, e in zip(actual, expected):
            assert_json_close(a, e)
    elif isinstance(expected, float):
        assert actual == pytest.approx(expected, abs=1e-5)
    elif isinstance(expected, str) and expected.startswith("iVBORw0KGgo"):  # a base64 PNG
        assert_images_close(base64.b64decode(actual), base64.b64decode(expected))
    else:
        assert actual == expected


def assert_images_close(actual: bytes, expected: bytes) -> None:
    a, e = (np.asarray(decode_png(data)).astype(int) for data in (actual, expected))
    assert a.shape == e.shape and np.abs(a - e).max() <= 1
