"""handlers/cancellation.py: which stream a request is, from its X-Stream-Id header (HTTP door) or its
`x-stream-id` input (gRPC door), and whether it has been cancelled."""

import uuid

import pytest

from handlers.cancellation import CANCEL_DIR_ENV, STREAM_ID_FIELD, cancel_file, cancellation_check, input_stream_id


class Context:
    def __init__(self, headers):
        self.headers = headers

    def get_request_header(self, index, name):
        return self.headers[index].get(name)


@pytest.fixture
def cancel_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(CANCEL_DIR_ENV, str(tmp_path))
    return tmp_path


def test_a_header_or_an_input_names_the_stream(cancel_dir):
    by_header, by_input = uuid.uuid4().hex, uuid.uuid4().hex
    context = Context([{"X-Stream-Id": by_header}, {}])
    checks = [cancellation_check(context, 0), cancellation_check(context, 1, input_stream_id(
        {"data": b"{}", STREAM_ID_FIELD: bytearray(by_input.encode())}))]
    assert [check() for check in checks] == [False, False]
    cancel_file(by_input).touch()
    assert [check() for check in checks] == [False, True]
    cancel_file(by_header).touch()
    assert [check() for check in checks] == [True, True]


def test_no_id_a_malformed_id_or_no_folder_is_never_cancelled(cancel_dir, monkeypatch):
    (cancel_dir / "x").touch()
    context = Context([{"X-Stream-Id": "x"}, {}, {}])
    assert not cancellation_check(context, 0)()
    assert not cancellation_check(context, 1, input_stream_id({"data": b"{}"}))()
    assert not cancellation_check(context, 2, input_stream_id({STREAM_ID_FIELD: b"../x"}))()
    stream = uuid.uuid4().hex
    cancel_file(stream).touch()
    monkeypatch.delenv(CANCEL_DIR_ENV)
    assert not cancellation_check(Context([{"X-Stream-Id": stream}]), 0)()
