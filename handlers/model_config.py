"""A model-config's `handler` section as one version of the model sees it.

The versions of a model share one model-config; `handler.versions.<version>` says where a version
differs, limit by limit and default by default. YAML reads an unquoted `2.0:` as a number, so the
versions are compared as text.
"""

from __future__ import annotations

from typing import Any


def version_settings(handler_config: dict[str, Any], version: str) -> dict[str, dict[str, Any]]:
    """{"limits": ..., "defaults": ...} for `version`: the shared ones, updated by the version's own."""
    own = {str(key): part for key, part in handler_config.get("versions", {}).items()}.get(version, {})
    return {part: {**handler_config.get(part, {}), **own.get(part, {})} for part in ("limits", "defaults")}
