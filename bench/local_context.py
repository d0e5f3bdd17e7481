"""TorchServe's Context, as far as this project's handlers use it, to call a handler in this
process as a worker calls it (the tests and `make bench` do): the model's name and version, its
model-config, a folder with its weights, and the per-request headers and answers. A stand-in for
tests and measurements, not part of what is served."""

from pathlib import Path

from models.catalog import read_config


class RecordedMetrics:
    """TorchServe's `context.metrics`, as far as the handlers use it: what they add, kept in a list."""

    def __init__(self) -> None:
        self.added: list[tuple[str, float, dict[str, str]]] = []

    def add_counter(self, name: str, value: float, idx: int | None = None, dimensions: list | None = None) -> None:
        self.added.append((name, value, {d.name: d.value for d in dimensions or []}))

    def add_metric(self, name: str, value: float, unit: str, idx: int | None = None,
                   dimensions: list | None = None, metric_type: object = None) -> None:
        self.added.append((name, value, {d.name: d.value for d in dimensions or []}))


class LocalContext:
    def __init__(self, model: str, model_dir: Path, version: str = "1.0") -> None:
        self.manifest = {"model": {"modelName": model, "modelVersion": version}}
        self.model_yaml_config = read_config(model)
        self.system_properties = {"model_dir": str(model_dir)}
        self.statuses: dict[int, int] = {}
        self.request_headers: dict[int, dict[str, str]] = {}
        self.content_types: dict[int, str] = {}
        self.response_headers: dict[int, dict[str, str]] = {}
        self.request_ids = {i: f"request-{i}" for i in range(16)}
        self.metrics = RecordedMetrics()

    def set_response_status(self, code: int = 200, phrase: str = "", idx: int = 0) -> None:
        self.statuses[idx] = code

    def set_response_content_type(self, idx: int, value: str) -> None:
        self.content_types[idx] = value

    def set_response_header(self, idx: int, key: str, value: str) -> None:
        self.response_headers.setdefault(idx, {})[key] = value

    def get_all_request_header(self, idx: int) -> dict[str, str]:
        return self.request_headers.get(idx, {})

    def get_request_header(self, idx: int, key: str) -> str | None:
        return self.request_headers.get(idx, {}).get(key)

    def status(self, idx: int) -> int:
        return self.statuses.get(idx, 200)
