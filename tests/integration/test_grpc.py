"""TorchServe's gRPC APIs on the ports make serve configures (the door, scripts/grpc_door.py), with
stubs generated from the installed TorchServe's proto files (tsclient/grpc.py): predictions, a
refusal (INVALID_ARGUMENT at the door; status OK from TorchServe itself), keys, a stream in order,
a cancelled stream (the sampler stops at the door), and the
registration guard."""

import json
import re
import time

import grpc
import pytest
import requests
from PIL import Image

from tests.helpers import decode_png
from tests.integration.conftest import cap_in_force
from tsclient import ServerError
from tsclient.grpc import checked, error_in, stubs


@pytest.fixture(scope="module")
def grpc_api(server, tmp_path_factory):
    """(inference modules, the door's inference stub, management modules, the door's management stub,
    TorchServe's own inference stub)."""
    inference, management = stubs(tmp_path_factory.mktemp("grpc"))
    channels = [grpc.insecure_channel(address) for address in (
        server.door_grpc_address("inference"), server.door_grpc_address("management"),
        server.grpc_address("inference"))]
    yield (inference, inference.pb2_grpc.InferenceAPIsServiceStub(channels[0]),
           management, management.pb2_grpc.ManagementAPIsServiceStub(channels[1]),
           inference.pb2_grpc.InferenceAPIsServiceStub(channels[2]))
    for channel in channels:
        channel.close()


def key(server, api):
    return [("authorization", server.headers(api)["Authorization"])]


def request(inference, model, body, version=""):
    return inference.pb2.PredictionsRequest(model_name=model, model_version=version,
                                            input={"data": json.dumps(body).encode()})


def test_a_prediction_is_the_rest_answer(server, grpc_api):
    inference, stub, _, _, _ = grpc_api
    body = {"start_word": "the", "length": 12, "seed": 5}
    answer = stub.Predictions(request(inference, "bigram", body), metadata=key(server, "inference"), timeout=60)
    rest = requests.post(f"{server.inference_url}/predictions/bigram", json=body, headers=server.headers("inference"),
                         timeout=60)
    assert checked(answer.prediction) == rest.content
    assert stub.Ping(inference.pb2.google_dot_protobuf_dot_empty__pb2.Empty(), metadata=key(server, "inference"),
                     timeout=30).health


def test_a_refused_request_gets_invalid_argument_with_the_handler_s_error(server, grpc_api):
    inference, stub, _, _, torchserve = grpc_api
    too_long = request(inference, "bigram", {"start_word": "the", "length": 9999})
    with pytest.raises(grpc.RpcError) as refused:
        stub.Predictions(too_long, metadata=key(server, "inference"), timeout=60)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    error = json.loads(refused.value.details())
    assert (error["code"], error["field"]) == (400, "length") and "1..500" in error["error"]
    # TorchServe's own port: status OK, the error in the body, which tsclient.grpc.checked raises.
    answer, call = torchserve.Predictions.with_call(too_long, metadata=key(server, "inference"), timeout=60)
    assert call.code() == grpc.StatusCode.OK
    assert isinstance(error_in(answer.prediction), ServerError)
    with pytest.raises(ServerError, match="length") as raised:
        checked(answer.prediction)
    assert (raised.value.status, raised.value.field) == (400, "length")


def test_a_missing_or_wrong_key_is_refused(server, grpc_api):
    inference, stub, management, management_stub, _ = grpc_api
    for metadata in ([], [("authorization", "Bearer wrong")], key(server, "management")):
        with pytest.raises(grpc.RpcError) as refused:
            stub.Predictions(request(inference, "bigram", {"start_word": "the"}), metadata=metadata, timeout=30)
        assert refused.value.code() != grpc.StatusCode.OK
        assert "Token Authorization failed" in refused.value.details()
    with pytest.raises(grpc.RpcError) as refused:
        management_stub.ListModels(management.pb2.ListModelsRequest(), metadata=key(server, "inference"), timeout=30)
    assert "Token Authorization failed" in refused.value.details()
    models = management_stub.ListModels(management.pb2.ListModelsRequest(limit=100),
                                        metadata=key(server, "management"), timeout=30)
    assert "bigram" in {model["modelName"] for model in json.loads(models.msg)["models"]}


def test_a_stream_comes_in_order_then_its_result(server, grpc_api):
    inference, stub, _, _, _ = grpc_api
    body = {"num_samples": 4, "diffusion_steps": 6, "seed": 2, "stream": True}
    messages = [json.loads(checked(part.prediction)) for part in
                stub.StreamPredictions(request(inference, "diffusion", body, "1.0"), metadata=key(server, "inference"),
                                       timeout=120)]
    assert all(m["type"] in ("progress", "preview") for m in messages[:-1])
    assert [m["step"] for m in messages[:-1]] == list(range(1, 7))
    result = messages[-1]
    assert result["type"] == "result" and result["seed"] == 2
    grid = decode_png(result["image_base64_png"])
    assert isinstance(grid, Image.Image) and grid.size[0] > 32


def cancel_after_first_step(server, inference, stub):
    maximal = {"num_samples": 64, "diffusion_steps": cap_in_force(server, "diffusion", "1.0") // 64, "seed": 1,
               "stream": True}
    stream = stub.StreamPredictions(request(inference, "diffusion", maximal, "1.0"), metadata=key(server, "inference"),
                                    timeout=300)
    assert json.loads(checked(next(stream).prediction))["step"] == 1
    stream.cancel()
    with pytest.raises(grpc.RpcError) as cancelled:
        next(stream)
    assert cancelled.value.code() == grpc.StatusCode.CANCELLED
    started = time.time()
    answer = stub.Predictions(request(inference, "diffusion", {"num_samples": 1, "diffusion_steps": 1, "seed": 1},
                                      "1.0"), metadata=key(server, "inference"), timeout=300)
    assert checked(answer.prediction)
    return time.time() - started


def test_a_cancelled_stream_stops_its_sampler(server, grpc_api):
    inference, stub, _, _, _ = grpc_api
    waited = cancel_after_first_step(server, inference, stub)
    log = (server.workdir / "logs" / "model_log.log").read_text()
    assert re.search(r"stream cancelled: every client of this sampler call hung up, at step \d+ of 100", log)
    assert waited < 10, waited  # not the rest of the 64 x 100 sample-steps
    deadline = time.time() + 30
    while list(server.cancel_dir.iterdir()):  # the mark goes once the worker has stopped
        assert time.time() < deadline
        time.sleep(0.1)
    print(f"gRPC cancel at the door: the next request was answered {waited:.1f} s after")


def test_registration_over_grpc_goes_through_the_guard(server, grpc_api):
    _, _, management, management_stub, _ = grpc_api
    metadata = key(server, "management")
    for fields in ({"url": "/etc"}, {"url": str(server.model_store)}, {"url": "file:///tmp/x.mar"},
                   {"url": "nothing.mar"}, {"url": "bigram.mar", "handler": "/tmp/bait.py"},
                   {"url": "bigram.mar", "model_name": "../x"}):
        with pytest.raises(grpc.RpcError) as refused:
            management_stub.RegisterModel(management.pb2.RegisterModelRequest(**fields), metadata=metadata, timeout=30)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, fields
    described = management_stub.DescribeModel(management.pb2.DescribeModelRequest(model_name="bigram"),
                                              metadata=metadata, timeout=30)
    assert json.loads(described.msg)[0]["modelName"] == "bigram"
