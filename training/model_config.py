"""The served settings, read from the model-configs (`archive/<model>/model-config.yaml`): the one source
for what the evaluations measure and the training scripts' sample grids show."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ARCHIVE = Path(__file__).resolve().parent.parent / "archive"


def served_defaults(model: str) -> dict[str, Any]:
    """What a request to `model` gets for a field it leaves out (`handler.defaults`)."""
    config = yaml.safe_load((ARCHIVE / model / "model-config.yaml").read_text())
    return config["handler"]["defaults"]
