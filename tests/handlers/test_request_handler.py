import json

import pytest
import torch
import yaml
from threadpoolctl import threadpool_info, threadpool_limits

from handlers.request_handler import Field, JsonHandler, RequestError, parse_body, validate
from tests.helpers import LocalContext, json_request

FIELDS = {
    "text": Field(str, required=True, max_length=5),
    "count": Field(int, default=3, bounds=(1, 10)),
    "scale": Field(float, default=1.0, bounds=(0.0, 2.0)),
    "mode": Field(str, default="a", choices=("a", "b")),
    "items": Field(list, max_length=2, items=Field(str, max_length=3)),
}


def refusal(body) -> RequestError:
    with pytest.raises(RequestError) as caught:
        validate(body, FIELDS)
    return caught.value


def test_defaults_are_filled_in():
    assert validate({"text": "hi"}, FIELDS) == {"text": "hi", "count": 3, "scale": 1.0, "mode": "a",
                                                "items": None}


@pytest.mark.parametrize("body, field, words", [
    ({}, "text", "required"),
    ({"text": ""}, "text", "empty"),
    ({"text": "   "}, "text", "empty"),
    ({"text": "toolong"}, "text", "1..5 characters"),
    ({"text": 5}, "text", "type int"),
    ({"text": "a", "count": 0}, "count", "in 1..10"),
    ({"text": "a", "count": 11}, "count", "in 1..10"),
    ({"text": "a", "count": 2.5}, "count", "type float"),
    ({"text": "a", "count": True}, "count", "type bool"),
    ({"text": "a", "count": "3"}, "count", "type str"),
    ({"text": "a", "scale": float("nan")}, "scale", "not finite"),
    ({"text": "a", "scale": float("inf")}, "scale", "not finite"),
    ({"text": "a", "scale": 2.5}, "scale", "0.0..2.0"),
    ({"text": "a", "mode": "c"}, "mode", "one of a, b"),
    ({"text": "a", "items": []}, "items", "empty"),
    ({"text": "a", "items": ["x", "y", "z"]}, "items", "1..2 items"),
    ({"text": "a", "items": ["x", 1]}, "items[1]", "type int"),
    ({"text": "a", "extra": 1}, "extra", "unknown field"),
])
def test_bad_fields_are_named_with_their_limit(body, field, words):
    error = refusal(body)
    assert error.status == 400 and error.field == field
    assert words in error.message
    assert error.to_json()["field"] == field


def test_integers_are_accepted_as_numbers():
    assert validate({"text": "a", "scale": 1}, FIELDS)["scale"] == 1.0


@pytest.mark.parametrize("request_, problem", [
    ({"body": b"not json"}, "not valid JSON"),
    ({"body": b"\xff\xfe"}, "not UTF-8"),
    ({"body": "[1, 2]"}, "JSON object"),
    ({"body": [1, 2]}, "JSON object"),
    ({}, "JSON object"),
    # What TorchServe's worker could not decode reaches the handler as bytes: the same refusals.
    ({"body": b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"}, "nested too deeply"),
    ({"body": b'{"a": ' + b"9" * 5000 + b"}"}, "could not be read as JSON"),
])
def test_bodies_that_are_not_json_objects_are_refused(request_, problem):
    with pytest.raises(RequestError, match=problem):
        parse_body(request_)


def test_json_bodies_are_accepted_decoded_or_not():
    assert parse_body({"body": {"a": 1}}) == {"a": 1}
    assert parse_body({"body": b'{"a": 1}'}) == {"a": 1}
    assert parse_body({"data": '{"a": 1}'}) == {"a": 1}


class EchoHandler(JsonHandler):
    def request_fields(self):
        return {"n": self.field(int, "n", required=True), "m": self.field(int, "m")}

    def load(self):
        self.batches = []

    def predict(self, requests):
        self.batches.append(len(requests))
        return [RequestError("odd", "n", status=422) if r["n"] % 2 else {"double": 2 * r["n"], "m": r["m"]}
                for r in requests]


def test_a_bad_request_does_not_affect_the_others_in_its_batch(tmp_path):
    handler = EchoHandler()
    context = LocalContext("bigram", tmp_path)
    context.model_yaml_config = {"handler": {"torch_threads": 1, "limits": {"n": [0, 10], "m": [1, 5]},
                                             "defaults": {"m": 2}}}
    handler.initialize(context)
    batch = [json_request({"n": 2}), {"body": b"{oops"}, json_request({"n": 99}),
             json_request({"n": 3}), json_request({"n": 4, "m": 1}), json_request({"n": 4, "m": 6})]
    answers = [json.loads(a) for a in handler.handle(batch, context)]
    assert handler.batches == [3]  # only the valid requests reach predict, together
    assert answers[0] == {"double": 4, "m": 2} and answers[4] == {"double": 8, "m": 1}  # defaults from the config
    assert context.status(5) == 400 and answers[5]["field"] == "m" and "1..5" in answers[5]["error"]
    assert [context.status(i) for i in range(5)] == [200, 400, 400, 422, 200]
    assert answers[2]["field"] == "n" and "0..10" in answers[2]["error"]
    assert all(context.content_types[i] == "application/json" for i in range(6))


def test_a_worker_runs_the_model_configs_threads_in_torch_and_in_numpys_blas(tmp_path):
    handler = EchoHandler()
    context = LocalContext("bigram", tmp_path)
    context.model_yaml_config = {"handler": {"torch_threads": 1, "limits": {"n": [0, 10], "m": [1, 5]}}}
    with threadpool_limits(2):  # as a worker starts on a 2-core machine
        torch.set_num_threads(2)
        handler.initialize(context)
        blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
        assert blas and all(pool["num_threads"] == 1 for pool in blas)
        assert torch.get_num_threads() == 1


def test_the_describe_call_shows_the_fields_and_the_weights(tmp_path):
    (tmp_path / "bigram-v1.0.json").write_text(json.dumps({"data": {"set": "text"}, "metrics": {"loss": 1.5},
                                                           "weights": {"file": "w.pt", "sha256": "ab12"}}))
    handler = EchoHandler()
    context = LocalContext("bigram", tmp_path)
    context.model_yaml_config = {"handler": {"torch_threads": 1, "limits": {"n": [0, 10], "m": [1, 5]},
                                             "defaults": {"m": 2}}}
    handler.initialize(context)
    context.request_headers[0] = {"describe": "True"}
    [described] = [json.loads(answer) for answer in handler.handle([{"body": b""}], context)]
    assert described["model"] == "bigram" and described["version"] == "1.0"
    assert described["request"]["fields"] == {
        "n": {"type": "integer", "required": True, "bounds": [0, 10]},
        "m": {"type": "integer", "required": False, "default": 2, "bounds": [1, 5]}}
    assert described["weights"]["metrics"] == {"loss": 1.5} and described["weights"]["sha256"] == "ab12"
    assert handler.batches == []  # not a prediction


@pytest.mark.parametrize("version, n, m", [("1.0", (0, 10), 2), ("2.0", (0, 3), 4)])
def test_a_version_section_overrides_only_what_it_names(tmp_path, version, n, m):
    context = LocalContext("bigram", tmp_path, version)
    context.model_yaml_config = yaml.safe_load("""
handler:
  torch_threads: 1
  limits: {n: [0, 10], m: [1, 5]}
  defaults: {m: 2}
  versions:
    2.0:  # unquoted: YAML reads a number
      limits: {n: [0, 3]}
      defaults: {m: 4}
""")
    handler = EchoHandler()
    handler.initialize(context)
    assert handler.fields["n"].bounds == n and handler.fields["m"].bounds == (1, 5)
    assert handler.fields["m"].default == m
