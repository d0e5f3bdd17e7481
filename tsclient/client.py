"""The client: addresses from config.properties, keys from key_file.json, 503 retried with backoff,
and every 4xx raised as one exception type that carries the server's `field` and `allowed`.

TorchServe's keys expire (`token_expiration_min`). When the server refuses the key, the client reads
the key file again, which picks up a key rotated by someone else, and renews it first if it has
expired too (tsclient/keys.py), so a client on the server's machine keeps working across expiries."""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import requests
from PIL import Image

from tsclient.keys import fresh_key
from tsclient.properties import read_properties

ROOT = Path(__file__).resolve().parent.parent


class ServerError(Exception):
    """A refused request: the HTTP status, the server's message, and for bad input the field it
    names and what that field allows."""

    def __init__(self, status: int, message: str, field: str | None = None, allowed: str | None = None) -> None:
        super().__init__(f"{status}: {message}")
        self.status, self.message, self.field, self.allowed = status, message, field, allowed


@dataclass
class Prediction:
    """A classifier's answer: the label, its probability, every class's probability, the top k."""
    label: str
    probability: float
    probabilities: list[float]
    top_k: list[tuple[str, float]]


@dataclass
class Progress:
    step: int
    steps: int


@dataclass
class Preview(Progress):
    """A progress event with the first samples as they stand (a grid)."""
    image: Image.Image = field(default=None)


@dataclass
class Result:
    """The end of a sampling stream: the answer, as the unstreamed request gets it."""
    images: Image.Image | list[Image.Image]
    seed: int
    answer: dict[str, Any]


def decode_image(encoded: str) -> Image.Image:
    image = Image.open(io.BytesIO(base64.b64decode(encoded)))
    image.load()
    return image


class Client:
    """Talks to TorchServe's inference API. By default the `make serve` of this checkout: the
    address from `config.properties`, the key from `.torchserve/key_file.json`; or give them."""

    def __init__(self, url: str | None = None, key: str | None = None, key_file: Path | str | None = None,
                 config: Path | str = ROOT / "config.properties", retries: int = 5, backoff: float = 0.5,
                 timeout: float = 300, management_url: str | None = None) -> None:
        """`management_url` is where an expired key is renewed: config.properties' when `url` is too."""
        properties = read_properties(Path(config)) if Path(config).exists() else {}
        self.url = (url or properties["inference_address"]).rstrip("/")
        self.management_url = (management_url or ("" if url else properties.get("management_address", ""))).rstrip("/")
        self.key_file = None if key is not None else Path(key_file or ROOT / ".torchserve" / "key_file.json")
        self.key = key if key is not None else fresh_key(self.key_file, "inference", self.management_url)
        self.retries, self.backoff, self.timeout = retries, backoff, timeout
        self.session = requests.Session()

    def post(self, model: str, version: str | None = None, *, json_body: dict[str, Any] | None = None,
             data: bytes | None = None, headers: dict[str, str] | None = None,
             stream: bool = False) -> requests.Response:
        """One prediction request: 503 (a full queue) is retried after the server's Retry-After or an
        exponential backoff; a refused key is replaced from the key file (renewed if expired) up to
        twice (another client may renew it in between)."""
        url = f"{self.url}/predictions/{model}" + (f"/{version}" if version else "")
        key_changes = 0
        for attempt in range(self.retries + 1):
            response = self.session.post(url, json=json_body, data=data, stream=stream, timeout=self.timeout,
                                         headers={**(headers or {}), "Authorization": f"Bearer {self.key}"})
            if response.status_code == 503 and attempt < self.retries:
                retry_after = response.headers.get("Retry-After", "")
                time.sleep(float(retry_after) if retry_after.isdigit() else self.backoff * 2 ** attempt)
                continue
            if response.status_code in (400, 401) and self.key_file is not None and key_changes < 2 \
                    and _refuses_the_key(response):
                fresh = fresh_key(self.key_file, "inference", self.management_url)
                key_changes += 1
                if fresh != self.key:
                    self.key = fresh
                    continue
            break
        if response.status_code >= 400:
            raise _error(response)
        return response

    def _json(self, model: str, version: str | None, body: dict[str, Any]) -> dict[str, Any]:
        return self.post(model, version, json_body=_present(body)).json()

    # The models, one method each.

    def bigram(self, start_word: str, *, length: int | None = None, strategy: str | None = None,
               temperature: float | None = None, top_k: int | None = None, seed: int | None = None) -> str:
        return self._json("bigram", None, {"start_word": start_word, "length": length, "strategy": strategy,
                                           "temperature": temperature, "top_k": top_k, "seed": seed})["generated_text"]

    def embed(self, word: str) -> np.ndarray | None:
        """The word's (or phrase's) 300-d vector, or None where no token has one."""
        vector = self._json("embed", None, {"word": word})["vector"]
        return None if vector is None else np.asarray(vector, dtype=np.float32)

    def embed_many(self, words: list[str]) -> list[np.ndarray | None]:
        answer = self._json("embed", None, {"words": words})
        return [None if item["vector"] is None else np.asarray(item["vector"], dtype=np.float32)
                for item in answer["results"]]

    def similar(self, word: str, *, top_k: int | None = None) -> list[tuple[str, float]]:
        answer = self._json("similar", None, {"word": word, "top_k": top_k})
        return [(item["token"], item["score"]) for item in answer["results"]]

    def classify(self, image: str | Path | bytes | Image.Image, *, top_k: int | None = None,
                 version: str | None = None) -> Prediction:
        answer = self._json("cifar10", version, {"image": base64.b64encode(_image_bytes(image)).decode(),
                                                 "top_k": top_k})
        return Prediction(answer["pred_label"], answer["probs"][answer["pred_id"]], answer["probs"],
                          [(item["label"], item["prob"]) for item in answer["top_k"]])

    def gan(self, *, num_samples: int | None = None, digit: int | None = None, seed: int | None = None,
            grid: bool = True, version: str | None = None) -> Image.Image | list[Image.Image]:
        answer = self._json("gan", version, {"num_samples": num_samples, "digit": digit, "seed": seed,
                                             "format": None if grid else "images"})
        return _images(answer)

    def ebm(self, *, version: str | None = None, grid: bool = True, **settings: Any) -> Image.Image | list[Image.Image]:
        """Samples by Langevin dynamics: num_samples, steps, step_size, noise, seed."""
        return _images(self._json("ebm", version, {**settings, "format": None if grid else "images"}))

    def diffusion(self, *, grid: bool = True, **settings: Any) -> Image.Image | list[Image.Image]:
        """Samples by reverse diffusion: num_samples, diffusion_steps, sampler, eta, seed."""
        return _images(self._json("diffusion", None, {**settings, "format": None if grid else "images"}))

    def ebm_stream(self, *, version: str | None = None, grid: bool = True,
                   **settings: Any) -> Iterator[Progress | Preview | Result]:
        return self._stream("ebm", version, {**settings, "format": None if grid else "images"})

    def diffusion_stream(self, *, grid: bool = True, **settings: Any) -> Iterator[Progress | Preview | Result]:
        return self._stream("diffusion", None, {**settings, "format": None if grid else "images"})

    def _stream(self, model: str, version: str | None, body: dict[str, Any]) -> Iterator[Progress | Preview | Result]:
        """The sampler's progress as it runs, in order; the last event is the Result."""
        response = self.post(model, version, json_body={**_present(body), "stream": True}, stream=True)
        with response:
            for line in response.iter_lines():
                if not line:
                    continue
                message = json.loads(line)
                if message["type"] == "progress":
                    yield Progress(message["step"], message["steps"])
                elif message["type"] == "preview":
                    yield Preview(message["step"], message["steps"], decode_image(message["image_base64_png"]))
                elif message["type"] == "result":
                    yield Result(_images(message), message["seed"], message)
                else:
                    raise ServerError(message.get("code", 500), message.get("error", str(message)))


def _present(body: dict[str, Any]) -> dict[str, Any]:
    """The fields given: the server's defaults (its model-config) decide the others."""
    return {name: value for name, value in body.items() if value is not None}


def _images(answer: dict[str, Any]) -> Image.Image | list[Image.Image]:
    if "images_base64_png" in answer:
        return [decode_image(image) for image in answer["images_base64_png"]]
    return decode_image(answer["image_base64_png"])


def _image_bytes(image: str | Path | bytes | Image.Image) -> bytes:
    if isinstance(image, bytes):
        return image
    if isinstance(image, Image.Image):
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return buffer.getvalue()
    return Path(image).read_bytes()


def _refuses_the_key(response: requests.Response) -> bool:
    return response.status_code == 401 or "token" in response.text.lower()


def _error(response: requests.Response) -> ServerError:
    try:
        body = response.json()
    except ValueError:
        if response.status_code == 413 and not response.text.strip():  # TorchServe's answer has no body
            return ServerError(413, "the request body is larger than the server accepts (its max_request_size)")
        return ServerError(response.status_code, response.text.strip() or response.reason)
    if not isinstance(body, dict):
        return ServerError(response.status_code, str(body))
    message = body.get("error") or body.get("message") or str(body)
    return ServerError(response.status_code, message, body.get("field"), body.get("allowed"))
