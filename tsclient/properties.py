"""Java properties files such as TorchServe's config.properties: read by the client (for the
addresses) and by the project's scripts alike."""

from __future__ import annotations

from pathlib import Path


def read_properties(path: Path) -> dict[str, str]:
    """The file's `key=value` lines as a dict (comments and blank lines left out)."""
    properties = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            properties[key.strip()] = value.strip()
    return properties
