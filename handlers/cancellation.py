"""Streams whose client has gone.

TorchServe 0.12's REST frontend never tells a worker that the client of a request hung up: a
streamed sampling request would run to its last step for no one. A front door that sees the
hang-up (scripts/gateway.py, which `make ui` and `make gateway` run) gives each stream it passes on a random id in
the `X-Stream-Id` header and, when its client hangs up, creates a file of that name in the folder
`$STREAM_CANCEL_DIR` (scripts/server.py sets it for TorchServe's workers: `<workdir>/cancelled`).
A streamed request checks for its file at every step (one `stat`) and stops. TorchServe passes no
gRPC metadata to a handler, so make serve's gRPC door (scripts/grpc_door.py) sends the id as an
input of the request, `x-stream-id`, next to `data`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

CANCEL_DIR_ENV = "STREAM_CANCEL_DIR"
STREAM_ID_HEADER = "X-Stream-Id"
STREAM_ID_FIELD = "x-stream-id"
STREAM_ID = re.compile(r"^[0-9a-f]{32}$")  # uuid4().hex: nothing else ever names a file


class StreamCancelled(Exception):
    """Raised from a sampler's step callback when every stream it serves has been cancelled."""


def cancel_file(stream_id: str, folder: Path | None = None) -> Path:
    if not STREAM_ID.match(stream_id):
        raise ValueError(f"not a stream id: {stream_id!r}")
    return Path(folder or os.environ[CANCEL_DIR_ENV]) / stream_id


def input_stream_id(request: dict[str, Any]) -> str | None:
    """The stream id a gRPC request carries as an input (bytes), if any."""
    value = request.get(STREAM_ID_FIELD)
    return bytes(value).decode("ascii", "replace") if isinstance(value, (bytes, bytearray)) else None


def cancellation_check(context: Any, index: int, input_id: str | None = None) -> Callable[[], bool]:
    """Whether request `index` of the batch has been cancelled: always False for a request that came
    without a well-formed stream id (its header, else `input_id`: input_stream_id), or to a worker
    without a cancel folder."""
    stream_id = context.get_request_header(index, STREAM_ID_HEADER) or input_id
    if not os.environ.get(CANCEL_DIR_ENV) or not stream_id or not STREAM_ID.match(stream_id):
        return lambda: False
    path = cancel_file(stream_id)
    return path.exists
