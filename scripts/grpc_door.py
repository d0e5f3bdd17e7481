"""make serve's gRPC door: TorchServe's gRPC inference and management APIs on config.properties' gRPC
ports, passed on to TorchServe's own (loopback ports of its own, scripts/server.py), with what
TorchServe 0.12's gRPC frontend does not do:

- A refused request gets a non-OK status with the handler's message: TorchServe answers a request
  its handler refuses with status OK and the JSON error in `prediction` (its gRPC frontend ignores
  the status a handler sets for one request of a batch); the door turns such an answer into the
  status of STATUS (400: INVALID_ARGUMENT) and the error's text.
- A `StreamPredictions` call that the client cancels stops its sampler: the door gives each stream a
  random id, sent as the request input `x-stream-id`, and marks it cancelled when the call ends
  early (handlers/cancellation.py), as the HTTP door does for a client that hangs up. TorchServe
  itself only stops sending.
- `RegisterModel` goes through the registration guard (archive/registration.py), and without
  `handler` or `runtime`, as over HTTP.

Keys: the client's `authorization` metadata goes on unchanged, for TorchServe to check.
`StreamPredictions2` (sequences, which no model here uses) is not passed on.
"""

from __future__ import annotations

import json
import queue
import re
import threading
import uuid
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc

from archive.registration import RegistrationRefused, registrable_archive
from handlers.cancellation import STREAM_ID_FIELD, cancel_file
from scripts.server import Server
from tsclient.grpc import error_in, stubs

STATUS = {400: grpc.StatusCode.INVALID_ARGUMENT, 401: grpc.StatusCode.UNAUTHENTICATED,
          403: grpc.StatusCode.PERMISSION_DENIED, 404: grpc.StatusCode.NOT_FOUND,
          413: grpc.StatusCode.RESOURCE_EXHAUSTED, 429: grpc.StatusCode.RESOURCE_EXHAUSTED,
          500: grpc.StatusCode.INTERNAL, 503: grpc.StatusCode.UNAVAILABLE, 507: grpc.StatusCode.RESOURCE_EXHAUSTED}
MANAGEMENT_CALLS = ("DescribeModel", "ListModels", "RegisterModel", "ScaleWorker", "SetDefault", "UnregisterModel")
MAX_MESSAGE = 64 * 1024 * 1024  # TorchServe's own gRPC limit is its max_request_size / max_response_size


def passed_metadata(context: grpc.ServicerContext) -> list[tuple[str, str]]:
    return [(key, value) for key, value in context.invocation_metadata() if key == "authorization"]


def refuse_if_error(prediction: bytes, context: grpc.ServicerContext) -> None:
    """Abort the call with the status of a handler's JSON error, if `prediction` is one."""
    error = error_in(prediction)
    if error is not None:
        context.abort(STATUS.get(error.status, grpc.StatusCode.UNKNOWN),
                      json.dumps({"code": error.status, "error": error.message, "field": error.field,
                                  "allowed": error.allowed}))


def upstream_call(method: Any, request: Any, context: grpc.ServicerContext) -> Any:
    try:
        return method(request, metadata=passed_metadata(context), timeout=context.time_remaining())
    except grpc.RpcError as error:
        context.abort(error.code(), error.details() or "")


class CancellableStream:
    """TorchServe's answers to one StreamPredictions call, read by a thread of their own into a queue
    (so that reading goes on whatever the client does), with the stream's id. `on_done` (the call
    has ended) marks the stream cancelled if TorchServe's answers have not all come; the reader
    removes the mark once they have, that is once the worker has stopped."""

    def __init__(self, server: Server) -> None:
        self.stream_id = uuid.uuid4().hex
        self.file = cancel_file(self.stream_id, server.cancel_dir)
        self.answers: queue.Queue = queue.Queue()
        self.lock = threading.Lock()
        self.all_read = False

    def read(self, upstream: Any) -> None:
        threading.Thread(target=self._read, args=(upstream,), daemon=True).start()

    def _read(self, upstream: Any) -> None:
        try:
            for answer in upstream:
                self.answers.put(answer)
            self.answers.put(None)
        except grpc.RpcError as error:
            self.answers.put(error)
        finally:
            with self.lock:
                self.all_read = True
                self.file.unlink(missing_ok=True)

    def on_done(self) -> None:
        with self.lock:
            if not self.all_read:
                self.file.touch()


def grpc_doors(server: Server, stubs_dir: Any) -> list[grpc.Server]:
    """The doors on the configured gRPC inference and management ports (not yet started: call start)."""
    inference, management = stubs(stubs_dir)
    options = [("grpc.max_send_message_length", MAX_MESSAGE), ("grpc.max_receive_message_length", MAX_MESSAGE)]
    upstream = inference.pb2_grpc.InferenceAPIsServiceStub(
        grpc.insecure_channel(server.grpc_address("inference"), options=options))
    upstream_management = management.pb2_grpc.ManagementAPIsServiceStub(
        grpc.insecure_channel(server.grpc_address("management"), options=options))

    class Inference(inference.pb2_grpc.InferenceAPIsServiceServicer):
        def Ping(self, request: Any, context: grpc.ServicerContext) -> Any:
            return upstream_call(upstream.Ping, request, context)

        def Predictions(self, request: Any, context: grpc.ServicerContext) -> Any:
            request.input.pop(STREAM_ID_FIELD, None)  # only the door names streams
            answer = upstream_call(upstream.Predictions, request, context)
            refuse_if_error(answer.prediction, context)
            return answer

        def StreamPredictions(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            stream = CancellableStream(server)
            request.input[STREAM_ID_FIELD] = stream.stream_id.encode()
            stream.read(upstream.StreamPredictions(request, metadata=passed_metadata(context)))
            context.add_callback(stream.on_done)
            while (answer := stream.answers.get()) is not None:
                if isinstance(answer, grpc.RpcError):
                    context.abort(answer.code(), answer.details() or "")
                refuse_if_error(answer.prediction, context)
                yield answer

    class Management(management.pb2_grpc.ManagementAPIsServiceServicer):
        pass

    def passed_on(name: str) -> Any:
        def call(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
            if name == "RegisterModel":
                guard(request, server, context)
            return upstream_call(getattr(upstream_management, name), request, context)
        return call

    for name in MANAGEMENT_CALLS:
        setattr(Management, name, passed_on(name))

    inference_door = grpc.server(futures.ThreadPoolExecutor(max_workers=32), options=options)
    inference.pb2_grpc.add_InferenceAPIsServiceServicer_to_server(Inference(), inference_door)
    inference_door.add_insecure_port(server.door_grpc_address("inference"))
    management_door = grpc.server(futures.ThreadPoolExecutor(max_workers=8), options=options)
    management.pb2_grpc.add_ManagementAPIsServiceServicer_to_server(Management(), management_door)
    management_door.add_insecure_port(server.door_grpc_address("management"))
    return [inference_door, management_door]


def guard(request: Any, server: Server, context: grpc.ServicerContext) -> None:
    """A registration of a recorded archive of the model store only (archive/registration.py)."""
    try:
        if request.handler or request.runtime:
            raise RegistrationRefused("handler, runtime: not passed on; the archive names its handler")
        if request.model_name and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", request.model_name):
            raise RegistrationRefused("model_name: letters, digits, '_' and '-' only")
        registrable_archive(request.url, server.model_store)
    except RegistrationRefused as refused:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(refused))
