"""The client: addresses from config.properties, keys from key_file.json, each request's keywords
checked against the schema the server describes for the model version (tsclient/schema.py), 503
retried with backoff, and every 4xx raised as one exception type that carries the server's `field`
and `allowed`. It imports nothing of the server's code: installed anywhere, it works against a
remote server through the gateway (scripts/gateway.py), which passes the describe calls on.

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
from tsclient.schema import PICTURE_KEYWORDS, STREAM_FIELD, ModelSchema

Picture = str | Path | bytes | Image.Image  # a picture to send: a file's path, its bytes, or a PIL image


def project_root() -> Path:
    """Where `make serve` keeps config.properties and .torchserve/: the checkout this client sits in
    (run from it, or installed editable), else, installed elsewhere, the current directory."""
    checkout = Path(__file__).resolve().parent.parent
    return checkout if (checkout / "config.properties").exists() else Path.cwd()


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
    """An image generator's answer (gan, ebm, diffusion), and the end of a sampling stream: the
    images (a grid, or one per sample), the seed, and the whole answer (the settings the server
    used: steps, labels, guidance, strength)."""
    images: Image.Image | list[Image.Image]
    seed: int
    answer: dict[str, Any]


class Text(str):
    """Generated text, as a str, that also keeps its `seed` and the whole `answer`."""
    seed: int
    answer: dict[str, Any]

    def __new__(cls, answer: dict[str, Any]) -> Text:
        text = super().__new__(cls, answer["generated_text"])
        text.seed, text.answer = answer["seed"], answer
        return text


class Stream:
    """A sampler's events as they come: Progress and Preview, then the Result. Closing it (`close()`,
    the end of a `with` block over it, or a `for` over `client.diffusion_stream(...)` left by
    `break`, which drops it) closes the connection, and through a gateway the server's sampler stops."""

    def __init__(self, response: requests.Response) -> None:
        self.response = response
        self.events = _events(response)

    def __iter__(self) -> Stream:
        return self

    def __next__(self) -> Progress | Preview | Result:
        return next(self.events)

    def close(self) -> None:
        self.events.close()
        self.response.close()

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exception: object) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()


def decode_image(encoded: str) -> Image.Image:
    image = Image.open(io.BytesIO(base64.b64decode(encoded)))
    image.load()
    return image


class Client:
    """Talks to TorchServe, or to a gateway in front of it (scripts/gateway.py). By default the
    `make serve` of this checkout: the addresses from `config.properties`, the keys from
    `.torchserve/key_file.json`; or give them.

    Every model is called the same way, `predict(model, version, **fields)`, its keywords checked
    against what the server describes for that model version (`describe`) before anything is sent.
    The methods named after the models are conveniences on top that return Python values."""

    def __init__(self, url: str | None = None, key: str | None = None, key_file: Path | str | None = None,
                 config: Path | str | None = None, retries: int = 5, backoff: float = 0.5,
                 timeout: float = 300, management_url: str | None = None) -> None:
        """`url`: the inference address, or a gateway's. `management_url`: TorchServe's management
        address, where the models are described (with the key file's management key) and an expired
        key is renewed; config.properties' when `url` is not given. Without it (or without a key
        file) the models are described by the server at `url`, as a gateway does, with `key`."""
        config = Path(config or project_root() / "config.properties")
        properties = read_properties(config) if config.exists() else {}
        if url is None and "inference_address" not in properties:
            raise ValueError(f"give the server's url: there is no config.properties at {config} to read it from")
        self.url = (url or properties["inference_address"]).rstrip("/")
        self.management_url = (management_url or ("" if url else properties.get("management_address", ""))).rstrip("/")
        self.key_file = None if key is not None else Path(key_file or project_root() / ".torchserve" / "key_file.json")
        self.key = key if key is not None else fresh_key(self.key_file, "inference", self.management_url)
        self.management_key: str | None = None  # read from the key file when first needed
        self.retries, self.backoff, self.timeout = retries, backoff, timeout
        self.session = requests.Session()
        self.schemas: dict[tuple[str, str | None], ModelSchema] = {}

    # What the server serves, and what each model version takes.

    def models(self) -> list[str]:
        return [model["modelName"] for model in self.management("/models").json()["models"]]

    def versions(self, model: str) -> list[str]:
        return [version["modelVersion"] for version in self.management(f"/models/{model}/all").json()]

    def default_version(self, model: str) -> str:
        """The version `/predictions/<model>` serves."""
        return self.management(f"/models/{model}").json()[0]["modelVersion"]

    def describe(self, model: str, version: str | None = None) -> ModelSchema:
        """What the model version (by default the default one) takes: the server's describe call,
        asked once per client."""
        if (model, version) not in self.schemas:
            path = f"/models/{model}" + (f"/{version}" if version else "")
            try:
                description = self.management(path, params={"customized": "true"}).json()
            except ServerError as error:
                raise ServerError(error.status, f"{model} {version or '(default version)'} could not be "
                                  f"described: {error.message}. The client reads what a model takes from "
                                  "TorchServe's management API (management_url, with the key file's "
                                  "management key) or through a gateway that passes describe calls on "
                                  "(scripts/gateway.py)") from None
            self.schemas[(model, version)] = ModelSchema.from_description(description)
        return self.schemas[(model, version)]

    # Predictions: any model, by its fields.

    def predict(self, model: str, version: str | None = None, **fields: Any) -> dict[str, Any]:
        """The model's JSON answer. A keyword the model version does not have is a TypeError that
        names the ones it has; a value of None is left out (the server's default applies). For a
        model whose body is an image, and for a sampler's picture to edit and its mask, `image` and
        `mask` are each a path, bytes or a PIL image."""
        if STREAM_FIELD in fields:
            raise TypeError(f"{model}: a streamed answer is Client.stream's, not predict's")
        return self.post(model, version, json_body=self.request_body(model, version, fields)).json()

    def stream(self, model: str, version: str | None = None, **fields: Any) -> Stream:
        """The sampler's progress as it runs, in order; the last event is the Result. The fields are
        checked and the request sent at the call, before the first event is asked for."""
        schema = self.describe(model, version)
        if not schema.streams:
            raise TypeError(f"{model} {schema.version} does not stream (it has no field {STREAM_FIELD!r})")
        body = {**self.request_body(model, version, fields), STREAM_FIELD: True}
        return Stream(self.post(model, version, json_body=body, stream=True))

    def request_body(self, model: str, version: str | None, fields: dict[str, Any]) -> dict[str, Any]:
        """The JSON body for `fields`, once they are checked against the model version's schema."""
        body = {name: value for name, value in fields.items() if value is not None}
        self.describe(model, version).check(list(body))
        for name in PICTURE_KEYWORDS:
            if name in body:
                body[name] = base64.b64encode(_image_bytes(body[name])).decode()
        return body

    # The models, one convenience each, with the server's field names as typed keywords (None: the
    # server's default): Python values back. The fields a version has are checked against its schema.

    def bigram(self, start_word: str, *, length: int | None = None, strategy: str | None = None,
               temperature: float | None = None, top_k: int | None = None, seed: int | None = None) -> Text:
        return Text(self.predict("bigram", start_word=start_word, length=length, strategy=strategy,
                                 temperature=temperature, top_k=top_k, seed=seed))

    def embed(self, word: str) -> np.ndarray | None:
        """The word's (or phrase's) 300-d vector, or None where no token has one."""
        return _vector(self.predict("embed", word=word))

    def embed_many(self, words: list[str]) -> list[np.ndarray | None]:
        return [_vector(item) for item in self.predict("embed", words=words)["results"]]

    def similar(self, word: str, *, top_k: int | None = None) -> list[tuple[str, float]]:
        answer = self.predict("similar", word=word, top_k=top_k)
        return [(item["token"], item["score"]) for item in answer["results"]]

    def classify(self, image: Picture, *, top_k: int | None = None, version: str | None = None) -> Prediction:
        answer = self.predict("cifar10", version, image=image, top_k=top_k)
        return Prediction(answer["pred_label"], answer["probs"][answer["pred_id"]], answer["probs"],
                          [(item["label"], item["prob"]) for item in answer["top_k"]])

    def gan(self, *, num_samples: int | None = None, digit: int | None = None, seed: int | None = None,
            version: str | None = None, grid: bool = True) -> Result:
        """MNIST digits; `digit` (0..9) on 2.0, the class-conditional version."""
        return _result(self.predict("gan", version, **_format(grid), num_samples=num_samples, digit=digit,
                                    seed=seed))

    def ebm(self, *, num_samples: int | None = None, steps: int | None = None, step_size: float | None = None,
            noise: float | None = None, sampler: str | None = None, seed: int | None = None,
            image: Picture | None = None, mask: Picture | None = None, box: list[int] | None = None,
            strength: float | None = None, version: str | None = None, grid: bool = True) -> Result:
        """Samples by Langevin dynamics; on 2.0 `sampler`, and a picture to edit (`image`, a path,
        bytes or a PIL image, with `strength`), inpainted where `mask` (the same) or `box` says."""
        return _result(self.predict("ebm", version, **_format(grid), **_sampler_fields(locals())))

    def diffusion(self, *, num_samples: int | None = None, diffusion_steps: int | None = None,
                  sampler: str | None = None, eta: float | None = None, seed: int | None = None,
                  label: str | int | list[str | int] | None = None, guidance: float | None = None,
                  image: Picture | None = None, mask: Picture | None = None, box: list[int] | None = None,
                  strength: float | None = None, version: str | None = None, grid: bool = True) -> Result:
        """Samples by reverse diffusion; on 2.0 `label` (a class name, its index, or a list of them,
        one per sample) and `guidance`; and a picture to edit, as `ebm`'s."""
        return _result(self.predict("diffusion", version, **_format(grid), **_sampler_fields(locals())))

    def ebm_stream(self, *, num_samples: int | None = None, steps: int | None = None,
                   step_size: float | None = None, noise: float | None = None, sampler: str | None = None,
                   seed: int | None = None, image: Picture | None = None, mask: Picture | None = None,
                   box: list[int] | None = None, strength: float | None = None, version: str | None = None,
                   grid: bool = True) -> Stream:
        """`ebm`'s samples, streamed (see `stream`)."""
        return self.stream("ebm", version, **_format(grid), **_sampler_fields(locals()))

    def diffusion_stream(self, *, num_samples: int | None = None, diffusion_steps: int | None = None,
                         sampler: str | None = None, eta: float | None = None, seed: int | None = None,
                         label: str | int | list[str | int] | None = None, guidance: float | None = None,
                         image: Picture | None = None, mask: Picture | None = None, box: list[int] | None = None,
                         strength: float | None = None, version: str | None = None,
                         grid: bool = True) -> Stream:
        """`diffusion`'s samples, streamed (see `stream`)."""
        return self.stream("diffusion", version, **_format(grid), **_sampler_fields(locals()))

    # HTTP: keys, retries, errors.

    def post(self, model: str, version: str | None = None, *, json_body: dict[str, Any] | None = None,
             data: bytes | None = None, headers: dict[str, str] | None = None,
             stream: bool = False) -> requests.Response:
        """One prediction request, as it is: no schema involved."""
        url = f"{self.url}/predictions/{model}" + (f"/{version}" if version else "")
        return self.send("POST", url, "inference", json=json_body, data=data, headers=headers, stream=stream)

    def management(self, path: str, params: dict[str, str] | None = None) -> requests.Response:
        """A read of the management API: TorchServe's own where the client knows its address and has
        the key file (for the management key), else the server at `url` (a gateway) with `key`."""
        if self.key_file is not None and self.management_url:
            return self.send("GET", self.management_url + path, "management", params=params)
        return self.send("GET", self.url + path, "inference", params=params)

    def send(self, method: str, url: str, api: str, headers: dict[str, str] | None = None,
             **options: Any) -> requests.Response:
        """One request with `api`'s key ("inference" or "management"): 503 (a full queue) is retried
        after the server's Retry-After or an exponential backoff; a refused key is replaced from the key
        file (renewed if expired) up to twice (another client may renew it in between)."""
        key_changes = 0
        for attempt in range(self.retries + 1):
            response = self.session.request(method, url, timeout=self.timeout, **options,
                                            headers={**(headers or {}), "Authorization": f"Bearer {self._key(api)}"})
            if response.status_code == 503 and attempt < self.retries:
                retry_after = response.headers.get("Retry-After", "")
                time.sleep(float(retry_after) if retry_after.isdigit() else self.backoff * 2 ** attempt)
                continue
            if response.status_code in (400, 401) and self.key_file is not None and key_changes < 2 \
                    and _refuses_the_key(response):
                fresh = fresh_key(self.key_file, api, self.management_url)
                key_changes += 1
                if fresh != self._key(api):
                    self._set_key(api, fresh)
                    continue
            break
        if response.status_code >= 400:
            raise _error(response)
        return response

    def _key(self, api: str) -> str:
        if api == "inference":
            return self.key
        if self.management_key is None:
            self.management_key = fresh_key(self.key_file, "management", self.management_url)
        return self.management_key

    def _set_key(self, api: str, key: str) -> None:
        if api == "inference":
            self.key = key
        else:
            self.management_key = key


def _events(response: requests.Response) -> Iterator[Progress | Preview | Result]:
    """A streamed answer's lines (newline-delimited JSON) as events."""
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
                yield _result({name: value for name, value in message.items() if name != "type"})
            else:
                raise ServerError(message.get("code", 500), message.get("error", str(message)))


def _sampler_fields(arguments: dict[str, Any]) -> dict[str, Any]:
    """A sampler method's keywords (its `locals()`), less the method's own: the request's fields."""
    return {name: value for name, value in arguments.items() if name not in ("self", "version", "grid")}


def _format(grid: bool) -> dict[str, str | None]:
    """The image generators' `format`: a grid (the server's default) or one image per sample."""
    return {"format": None if grid else "images"}


def _vector(answer: dict[str, Any]) -> np.ndarray | None:
    return None if answer["vector"] is None else np.asarray(answer["vector"], dtype=np.float32)


def _result(answer: dict[str, Any]) -> Result:
    return Result(_images(answer), answer["seed"], answer)


def _images(answer: dict[str, Any]) -> Image.Image | list[Image.Image]:
    if "images_base64_png" in answer:
        return [decode_image(image) for image in answer["images_base64_png"]]
    return decode_image(answer["image_base64_png"])


def _image_bytes(image: Picture) -> bytes:
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
