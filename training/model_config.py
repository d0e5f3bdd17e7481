"""The served settings, read from the model-configs (`archive/<model>/model-config.yaml`): the one source
for what the evaluations measure and the training scripts' sample grids show."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from handlers.model_config import version_settings

ARCHIVE = Path(__file__).resolve().parent.parent / "archive"


def model_config(model: str) -> dict[str, Any]:
    """`archive/<model>/model-config.yaml` as a dict."""
    return yaml.safe_load((ARCHIVE / model / "model-config.yaml").read_text())


def served_defaults(model: str, version: str) -> dict[str, Any]:
    """What a request to `version` of `model` gets for a field it leaves out: `handler.defaults`,
    updated by that version's own (`handler.versions.<version>.defaults`)."""
    config = model_config(model)["handler"]
    return version_settings(config, version)["defaults"]
