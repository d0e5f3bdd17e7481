"""Body sizes: the largest legal request and answer of every model fit TorchServe's limits
(config.properties' max_request_size and max_response_size), and a body over the limit gets 413
without touching a worker."""

import base64
import io
import json

import numpy as np
import pytest
import requests
from PIL import Image

from tsclient.properties import read_properties

# The largest answer each model can legally give: every count at its limit, and images of noise
# (one sampler step), which compress worst.
LARGEST_ANSWERS = [
    ("bigram", {"start_word": "the", "length": 500, "seed": 1}),
    ("embed", {"words": [" ".join(["king"] * 200)] * 256}),
    ("embed", {"words": [". " * 500] * 256}),
    ("similar", {"word": " ".join(["king"] * 200), "top_k": 100}),
    ("gan", {"num_samples": 256, "format": "images", "seed": 1}),
    ("gan/1.0", {"num_samples": 256, "format": "images", "seed": 1}),
    ("ebm", {"num_samples": 64, "steps": 1, "format": "images", "seed": 1}),
    ("ebm/1.0", {"num_samples": 64, "steps": 1, "format": "images", "seed": 1}),
    ("diffusion", {"num_samples": 64, "diffusion_steps": 1, "format": "images", "seed": 1}),
]


def limit(server, name: str) -> int:
    return int(read_properties(server.config)[name])


def worker_pids(server) -> dict[str, list[int]]:
    models = [model["modelName"] for model in server.management("GET", "/models").json()["models"]]
    return {model: [worker["pid"] for version in server.management("GET", f"/models/{model}/all").json()
                    for worker in version["workers"]] for model in models}


@pytest.mark.parametrize("path, body", LARGEST_ANSWERS, ids=[f"{p}-{i}" for i, (p, _) in enumerate(LARGEST_ANSWERS)])
def test_the_largest_legal_answers_fit_with_room_to_spare(client, path, body):
    response = requests.post(f"{client.server.inference_url}/predictions/{path}", json=body, headers=client.headers,
                             timeout=300)
    assert response.status_code == 200, response.text[:300]
    print(f"{path}: {len(response.content)} bytes")
    assert len(response.content) < limit(client.server, "max_response_size") / 2


def noise_png(pixels: int) -> bytes:
    side = int(pixels ** 0.5)
    noise = np.random.default_rng(0).integers(0, 256, (side, side, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_largest_legal_request_fits_and_one_byte_more_than_the_limit_gets_413(client):
    server = client.server
    max_pixels = 4_000_000  # cifar10's limit (archive/cifar10/model-config.yaml)
    image = base64.b64encode(noise_png(max_pixels)).decode()
    body = json.dumps({"image": image, "top_k": 10}).encode()
    print(f"largest request: {len(body)} bytes")
    assert len(body) < limit(server, "max_request_size")
    response = requests.post(f"{server.inference_url}/predictions/cifar10", data=body,
                             headers={**client.headers, "Content-Type": "application/json"}, timeout=120)
    assert response.status_code == 200 and len(response.json()["top_k"]) == 10

    pids = worker_pids(server)
    for path in ["bigram", "cifar10", "diffusion"]:
        over = b" " * (limit(server, "max_request_size") + 1)
        response = requests.post(f"{server.inference_url}/predictions/{path}", data=over,
                                 headers={**client.headers, "Content-Type": "application/json"}, timeout=120)
        assert response.status_code == 413
    assert worker_pids(server) == pids
    assert client.predict("bigram", {"start_word": "the"}).status_code == 200
