"""TorchServe's gRPC APIs from Python: stubs generated from the installed TorchServe's own proto
files, and the check a gRPC answer needs.

    inference, management = stubs(Path("build/grpc"))        # inference_pb2, inference_pb2_grpc, ...
    channel = grpc.insecure_channel("127.0.0.1:7070")
    stub = inference.pb2_grpc.InferenceAPIsServiceStub(channel)
    answer = stub.Predictions(inference.pb2.PredictionsRequest(model_name="bigram", input={"data": body}),
                              metadata=[("authorization", f"Bearer {key}")])
    text = checked(answer.prediction)     # raises ServerError for a refused request, as the REST client does

TorchServe 0.12 answers a request its handler refuses (a 400 over REST) with gRPC status OK and the
handler's JSON error in `prediction`: its gRPC frontend ignores the status a handler sets for one
request of a batch, and the only way a handler gets a non-OK status to a gRPC client (an exception
for the whole batch) would fail every other request batched with it. `checked` turns that body into
the same `ServerError`. Needs grpcio and grpcio-tools (requirements.txt).
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType, SimpleNamespace

from tsclient.client import ServerError

PROTOS = ("inference.proto", "management.proto", "google/rpc/status.proto")


def torchserve_jar() -> Path:
    """The installed TorchServe's frontend, which carries its proto files."""
    import ts

    return Path(ts.__file__).parent / "frontend" / "model-server.jar"


def stubs(folder: Path, jar: Path | None = None) -> tuple[SimpleNamespace, SimpleNamespace]:
    """(inference, management): each with `pb2` and `pb2_grpc`, the modules grpcio-tools generates in
    `folder` from the proto files of TorchServe's jar (the installed one by default)."""
    folder = Path(folder)
    protos = folder / "proto"
    with zipfile.ZipFile(jar or torchserve_jar()) as archive:
        for name in PROTOS:
            (protos / name).parent.mkdir(parents=True, exist_ok=True)
            (protos / name).write_bytes(archive.read(name))
    import grpc_tools

    well_known = Path(grpc_tools.__file__).parent / "_proto"
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", f"-I{protos}", f"-I{well_known}",
                    f"--python_out={folder}", f"--grpc_python_out={folder}", *PROTOS], check=True)
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    return tuple(SimpleNamespace(pb2=module(f"{name}_pb2"), pb2_grpc=module(f"{name}_pb2_grpc"))
                 for name in ("inference", "management"))


def module(name: str) -> ModuleType:
    return importlib.import_module(name)


def error_in(prediction: bytes) -> ServerError | None:
    """The ServerError a gRPC `prediction` holds (a handler's JSON error: {"code": 4xx, "error": ...,
    "field": ..., "allowed": ...}), or None for an answer."""
    try:
        body = json.loads(prediction)
    except (ValueError, UnicodeDecodeError):
        return None
    if not (isinstance(body, dict) and isinstance(body.get("code"), int) and body["code"] >= 400 and "error" in body):
        return None
    return ServerError(body["code"], body["error"], body.get("field"), body.get("allowed"))


def checked(prediction: bytes) -> bytes:
    """`prediction`, unless it is a refusal: then its ServerError is raised."""
    error = error_in(prediction)
    if error is not None:
        raise error
    return prediction
