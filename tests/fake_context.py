"""A stand-in for TorchServe's Context, for handler tests without a server."""

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent


class FakeContext:
    def __init__(self, model: str, model_dir: Path, version: str = "1.0") -> None:
        self.manifest = {"model": {"modelName": model, "modelVersion": version}}
        self.model_yaml_config = yaml.safe_load((ROOT / "archive" / model / "model-config.yaml").read_text())
        self.system_properties = {"model_dir": str(model_dir)}
        self.statuses: dict[int, int] = {}
        self.request_headers: dict[int, dict[str, str]] = {}
        self.content_types: dict[int, str] = {}
        self.request_ids = {i: f"request-{i}" for i in range(16)}

    def set_response_status(self, code: int = 200, phrase: str = "", idx: int = 0) -> None:
        self.statuses[idx] = code

    def set_response_content_type(self, idx: int, value: str) -> None:
        self.content_types[idx] = value

    def get_all_request_header(self, idx: int) -> dict[str, str]:
        return self.request_headers.get(idx, {})

    def status(self, idx: int) -> int:
        return self.statuses.get(idx, 200)


def json_request(body: Any) -> dict[str, Any]:
    """A request as TorchServe passes an application/json body to a handler: already decoded."""
    return {"body": body}


def save_weights(model_dir: Path, name: str, state_dict: dict, **manifest: Any) -> None:
    """Weights and a manifest as a handler expects them: `<name>.pt` and `<name>.json`, with any
    other manifest entries the handler reads."""
    import torch

    from models.manifest import sha256_of, write_manifest

    torch.save(state_dict, model_dir / f"{name}.pt")
    write_manifest(model_dir / f"{name}.json",
                   {**manifest, "weights": {"file": f"{name}.pt", "sha256": sha256_of(model_dir / f"{name}.pt")}})
