"""Hostile input through a real TorchServe: a fixed table of hand-written cases (hostile_requests.yaml)
and property-based requests generated from each model's declared fields and limits, as the
management API's describe call serves them. Every one gets a 4xx JSON answer naming the field, none
a 5xx, and no worker dies (their pids, read from the management API, stay the same)."""

import base64
import io
import json
import math
from pathlib import Path

import requests
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from models.catalog import catalog
from scripts.request_tables import described

CASES = yaml.safe_load((Path(__file__).parent / "hostile_requests.yaml").read_text())


def tiny_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (1, 1), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


TINY_PNG = base64.b64encode(tiny_png()).decode()


def worker_pids(server) -> dict[str, list[int]]:
    models = [model["modelName"] for model in server.management("GET", "/models").json()["models"]]
    return {model: sorted(worker["pid"] for version in server.management("GET", f"/models/{model}/all").json()
                          for worker in version["workers"]) for model in models}


def send(client, case) -> requests.Response:
    url = f"{client.server.inference_url}/predictions/{case['path']}"
    headers = dict(client.headers)
    content_type = case.get("content_type", "application/json")
    if "json" in case:
        return requests.post(url, data=json.dumps(case["json"]), timeout=60,
                             headers={**headers, "Content-Type": "application/json"})
    if "image_json" in case:
        return requests.post(url, json={"image": TINY_PNG, **case["image_json"]}, headers=headers, timeout=60)
    if "multipart" in case:
        files, data = [], {}
        for part in case["multipart"]:
            content = base64.b64decode(TINY_PNG if part.get("base64") == "TINY_PNG" else part["base64"]) \
                if "base64" in part else part["text"].encode()
            if "filename" in part:
                files.append((part["name"], (part["filename"], content, "image/png")))
            else:
                files.append((part["name"], (None, content)))
        return requests.post(url, files=files, data=data, headers=headers, timeout=60)
    if "text" in case:
        body = case["text"].encode()
    elif "base64" in case:
        body = base64.b64decode(case["base64"])
    else:
        body = "".join(text * times for text, times in case["segments"]).encode()
    if content_type != "none":
        headers["Content-Type"] = content_type
    return requests.post(url, data=body, headers=headers, timeout=60)


def check_refusal(response: requests.Response, field: str | None, status: int = 400) -> None:
    assert response.status_code == status, (response.status_code, response.text[:300])
    if status == 400:
        answer = response.json()
        assert answer["code"] == 400 and answer["error"]
        if field is not None:
            assert answer.get("field") == field, answer


def test_the_table_has_at_least_60_cases_over_every_model():
    assert len(CASES) >= 60
    assert {case["path"].split("/")[0] for case in CASES} == {entry.model for entry in catalog()}


def test_every_hand_written_hostile_case_is_refused_and_no_worker_dies(client):
    before = worker_pids(client.server)
    failures = []
    for case in CASES:
        response = send(client, case)
        try:
            check_refusal(response, case.get("field"), case.get("status", 400))
        except (AssertionError, ValueError) as error:
            failures.append(f"{case['name']}: {error}")
    assert not failures, "\n".join(failures)
    assert worker_pids(client.server) == before


# Property-based requests, from the served schema.

JSON_SCALARS = st.one_of(st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=True), st.text(max_size=20))
JSON_VALUES = st.recursive(st.one_of(st.none(), JSON_SCALARS),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                       max_size=3), max_leaves=8)
NOT_A_NUMBER = st.one_of(st.text(max_size=10), st.booleans(), st.lists(JSON_SCALARS, min_size=1, max_size=3),
                         st.dictionaries(st.text(max_size=5), JSON_SCALARS, min_size=1, max_size=2))


def bad_value(schema: dict) -> st.SearchStrategy:
    """Values that break the field's type or limits (null is not among them: it means "absent")."""
    kind = schema["type"]
    if kind in ("integer", "number"):
        low, high = schema["bounds"]
        out_of_range = st.one_of(st.integers(max_value=math.ceil(low) - 1), st.integers(min_value=math.floor(high) + 1))
        if kind == "number":
            out_of_range |= st.floats(max_value=low, exclude_max=True) | st.floats(min_value=high, exclude_min=True)
            return st.one_of(out_of_range, st.sampled_from([math.nan, math.inf, -math.inf]), NOT_A_NUMBER)
        fractional = st.floats(allow_nan=True).filter(lambda x: not (math.isfinite(x) and x == int(x)))
        return st.one_of(out_of_range, fractional, NOT_A_NUMBER)
    if kind == "boolean":
        return st.one_of(st.integers(), st.floats(), st.text(), st.lists(st.booleans(), min_size=1))
    if kind == "string":
        wrong_text = st.one_of(st.just(""), st.text(" \t\n", min_size=1, max_size=5))
        if "max_length" in schema:
            wrong_text |= st.text(min_size=schema["max_length"] + 1, max_size=schema["max_length"] + 40)
        if "choices" in schema:
            wrong_text |= st.text(max_size=12).filter(lambda text: text not in schema["choices"])
        return st.one_of(wrong_text, st.integers(), st.floats(), st.booleans(), st.lists(st.text(), min_size=1))
    assert kind == "array", schema
    too_many = st.integers(schema["max_length"] + 1, schema["max_length"] + 5).map(lambda n: ["a"] * n)
    bad_items = st.lists(bad_value(schema["items"]), min_size=1, max_size=3)
    return st.one_of(st.just([]), too_many, bad_items, st.text(min_size=1), st.integers(), st.dictionaries(
        st.text(max_size=5), JSON_SCALARS, min_size=1))


def valid_value(schema: dict):
    """A cheap valid value for a required field (the request's one fault must be the chosen one)."""
    kind = schema["type"]
    if kind in ("integer", "number"):
        return schema["bounds"][0]
    if kind == "boolean":
        return False
    if kind == "array":
        return [valid_value(schema["items"])]
    assert kind == "string", schema
    return schema["choices"][0] if "choices" in schema else "the"


@st.composite
def hostile_request(draw, described: dict) -> tuple[dict, str]:
    """(a JSON request with exactly one fault, the field the answer must name)."""
    fields = described["request"]["fields"]
    request = {name: valid_value(field) for name, field in fields.items() if field["required"]}
    if draw(st.integers(0, 4)) == 0:
        name = draw(st.text(min_size=1, max_size=12).filter(lambda name: name not in fields and name != "image"))
        request[name] = draw(JSON_VALUES)
        return request, name
    name = draw(st.sampled_from(sorted(fields)))
    request[name] = draw(bad_value(fields[name]))
    return request, name


def takes_an_image(described: dict) -> bool:
    return described["request"]["content"] == "image"


def refuses_every_hostile_request(client, path: str, described: dict):
    """A hypothesis test of one model version: every generated request is refused naming its fault."""

    @settings(max_examples=40, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(hostile_request(described))
    def refused(case):
        request, field = case
        body = {"image": TINY_PNG, **request} if takes_an_image(described) else request
        response = requests.post(f"{client.server.inference_url}/predictions/{path}", data=json.dumps(body),
                                 headers={**client.headers, "Content-Type": "application/json"}, timeout=60)
        assert response.status_code == 400, (path, body, response.status_code, response.text[:300])
        named = response.json().get("field", "")
        assert named == field or named.startswith(f"{field}["), (path, body, response.text[:300])

    return refused


def test_property_based_requests_from_every_declared_field_are_refused_naming_it(client):
    before = worker_pids(client.server)
    schemas = described(client.server)
    assert [path for path, _ in schemas] == sorted(f"{entry.model}/{entry.version}" for entry in catalog())
    for path, schema in schemas:
        refuses_every_hostile_request(client, path, schema)()
    assert worker_pids(client.server) == before


IMAGE_MAGIC = [b"\x89PNG\r\n\x1a\n", b"GIF89a", b"GIF87a", b"BM", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"RIFF",
               b"P6\n", b"\x00\x00\x01\x00"]


def test_property_based_image_bytes_that_lie_are_refused_naming_the_image(client):
    """Bytes that start like an image and then say anything (sizes, lengths, chunks)."""
    server = client.server
    before = worker_pids(server)

    image_models = [path for path, schema in described(server) if takes_an_image(schema)]
    assert image_models

    @settings(max_examples=60, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(IMAGE_MAGIC), st.binary(max_size=200), st.sampled_from(image_models))
    def refused(magic, rest, path):
        response = requests.post(f"{server.inference_url}/predictions/{path}", data=magic + rest,
                                 headers={**client.headers, "Content-Type": "application/octet-stream"}, timeout=60)
        # Random bytes after a magic number are almost never an image; when they are, it is answered.
        assert response.status_code in (200, 400), (magic + rest, response.status_code, response.text[:300])
        if response.status_code == 400:
            assert response.json()["field"] == "image"

    refused()
    assert worker_pids(server) == before
