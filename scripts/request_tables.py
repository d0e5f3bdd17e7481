"""The README's table of request fields, generated from what the served models describe
(`GET /models/<model>/<version>?customized=true`: fields, types, defaults and bounds read from the
model-configs). Needs `make serve` running; tests/integration/test_describe.py keeps the README's
table equal to what a fresh server describes.

    python scripts/request_tables.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the project's packages
from models.catalog import ROOT  # noqa: E402
from scripts.readme_sections import replace_section, table  # noqa: E402
from scripts.server import DEFAULT_WORKDIR, Server  # noqa: E402
from tsclient.schema import number  # noqa: E402

SECTION = "request fields"


def described(server: Server) -> list[tuple[str, dict[str, Any]]]:
    """(model/version, its describe answer) for every version of every model served."""
    found = []
    for model in server.management("GET", "/models").json()["models"]:
        for version in server.management("GET", f"/models/{model['modelName']}/all").json():
            path = f"{model['modelName']}/{version['modelVersion']}"
            metadata = server.management("GET", f"/models/{path}", params={"customized": "true"}).json()[0][
                "customizedMetadata"]
            found.append((path, json.loads(metadata) if isinstance(metadata, str) else metadata))
    return sorted(found, key=lambda item: item[0])


def allowed(field: dict[str, Any]) -> str:
    parts = []
    if "bounds" in field:
        low, high = field["bounds"]
        parts.append(f"{number(low)}..{number(high)}")
    if "choices" in field:
        parts.append(", ".join(field["choices"]))
    if "max_length" in field:
        parts.append(f"at most {field['max_length']} {'items' if field['type'] == 'array' else 'characters'}")
    if "items" in field:
        parts.append(f"each {allowed(field['items'])}")
    return "; ".join(parts)


def render(schemas: list[tuple[str, dict[str, Any]]]) -> str:
    rows = []
    for path, schema in schemas:
        if schema["request"]["content"] == "image":  # the image is the body, not a JSON field
            rows.append([f"`{path}`", "(the body)", "image", "required", schema["request"]["body"]])
        for name, field in schema["request"]["fields"].items():
            default = "required" if field["required"] else ("" if field.get("default") is None
                                                            else json.dumps(field["default"]))
            rows.append([f"`{path}`", f"`{name}`", field["type"], default, allowed(field)])
    return table(["model", "field", "type", "default", "allowed"], rows)


def main() -> None:
    server = Server(DEFAULT_WORKDIR, ROOT / "config.properties", ROOT / "archive" / "model-store")
    replace_section(ROOT / "README.md", SECTION, render(described(server)))
    print("README.md: request fields written")


if __name__ == "__main__":
    main()
