"""TorchServe's gRPC APIs, with stubs generated from the installed TorchServe's proto files
(tsclient/grpc.py): predictions, a refusal, keys, a stream in order, and what cancelling a stream
does (TorchServe 0.12 does not stop the sampler: the README says so, with this test's figure)."""

import json
import threading
import time

import grpc
import pytest
import requests
from PIL import Image

from tests.helpers import decode_png
from tsclient import ServerError
from tsclient.grpc import checked, error_in, stubs


@pytest.fixture(scope="module")
def grpc_api(server, tmp_path_factory):
    inference, management = stubs(tmp_path_factory.mktemp("grpc"))
    properties = dict(line.split("=", 1) for line in server.started.read_text().splitlines()
                      if "=" in line and not line.startswith("#"))
    channel = grpc.insecure_channel(f"127.0.0.1:{properties['grpc_inference_port']}")
    management_channel = grpc.insecure_channel(f"127.0.0.1:{properties['grpc_management_port']}")
    yield (inference, inference.pb2_grpc.InferenceAPIsServiceStub(channel),
           management, management.pb2_grpc.ManagementAPIsServiceStub(management_channel))
    channel.close()
    management_channel.close()


def key(server, api):
    return [("authorization", server.headers(api)["Authorization"])]


def request(inference, model, body, version=""):
    return inference.pb2.PredictionsRequest(model_name=model, model_version=version,
                                            input={"data": json.dumps(body).encode()})


def test_a_prediction_is_the_rest_answer(server, grpc_api):
    inference, stub, _, _ = grpc_api
    body = {"start_word": "the", "length": 12, "seed": 5}
    answer = stub.Predictions(request(inference, "bigram", body), metadata=key(server, "inference"), timeout=60)
    rest = requests.post(f"{server.inference_url}/predictions/bigram", json=body, headers=server.headers("inference"),
                         timeout=60)
    assert checked(answer.prediction) == rest.content
    assert stub.Ping(inference.pb2.google_dot_protobuf_dot_empty__pb2.Empty(), metadata=key(server, "inference"),
                     timeout=30).health


def test_a_refused_request_comes_back_ok_with_the_error_which_the_client_raises(server, grpc_api):
    inference, stub, _, _ = grpc_api
    answer, call = stub.Predictions.with_call(request(inference, "bigram", {"start_word": "the", "length": 9999}),
                                              metadata=key(server, "inference"), timeout=60)
    assert call.code() == grpc.StatusCode.OK  # TorchServe 0.12's gRPC ignores a handler's per-request status
    error = error_in(answer.prediction)
    assert isinstance(error, ServerError)
    assert (error.status, error.field) == (400, "length") and "1..500" in error.message
    with pytest.raises(ServerError, match="length"):
        checked(answer.prediction)


def test_a_missing_or_wrong_key_is_refused(server, grpc_api):
    inference, stub, management, management_stub = grpc_api
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
    inference, stub, _, _ = grpc_api
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


def test_a_cancelled_stream_stops_the_client_but_not_the_sampler(server, grpc_api):
    """What TorchServe 0.12 does: the client gets CANCELLED at once; the worker is not told, so it
    samples on, and the next request waits for it (measured and printed; README, gRPC)."""
    inference, stub, _, _ = grpc_api
    maximal = {"num_samples": 64, "diffusion_steps": 100, "seed": 1, "stream": True}  # max_sample_steps
    stream = stub.StreamPredictions(request(inference, "diffusion", maximal, "1.0"), metadata=key(server, "inference"),
                                    timeout=300)
    first = json.loads(checked(next(stream).prediction))
    assert first["step"] == 1
    cancelled_at = time.time()
    stream.cancel()
    with pytest.raises(grpc.RpcError) as cancelled:
        next(stream)
    assert cancelled.value.code() == grpc.StatusCode.CANCELLED
    waited = {}

    def next_request():
        started = time.time()
        answer = stub.Predictions(request(inference, "diffusion", {"num_samples": 1, "diffusion_steps": 1, "seed": 1},
                                          "1.0"), metadata=key(server, "inference"), timeout=300)
        waited["seconds"] = time.time() - started
        waited["answer"] = answer.prediction

    thread = threading.Thread(target=next_request)
    thread.start()
    thread.join(timeout=300)
    assert checked(waited["answer"])
    print(f"gRPC cancel: the next diffusion request was answered {waited['seconds']:.1f} s after the cancel "
          f"({time.time() - cancelled_at:.1f} s in all): the sampler ran on")
