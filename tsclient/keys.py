"""TorchServe's key file (`key_file.json`, written by the server at start): reading it while the
server may be rewriting it, and renewing an expired key through the token API.

TorchServe's inference and management keys expire `token_expiration_min` after they were made; the
API key does not, and `GET <management>/token?type=inference|management` with it makes a new key
of that kind, which the server writes into the key file. Whoever can read the key file holds the
API key too, so a process on the server's machine can always renew.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests


def read_keys(key_file: Path) -> dict[str, Any]:
    # TorchServe rewrites the file in place: a read in the middle of a write sees part of it.
    for _ in range(20):
        try:
            return json.loads(Path(key_file).read_text())
        except json.JSONDecodeError:
            time.sleep(0.05)
    return json.loads(Path(key_file).read_text())


def expired(entry: dict[str, Any]) -> bool:
    """Whether a key's "expiration time" (Java's Instant, 2026-11-29T16:00:00.123456Z) has passed
    (to the second, rounded down: a key is renewed up to a second early)."""
    expiration = entry.get("expiration time")
    if not expiration:
        return False
    expires = datetime.strptime(expiration[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return expires <= datetime.now(UTC)


def fresh_key(key_file: Path, kind: str, management_url: str | None) -> str:
    """The key file's key of `kind` ("inference", "management" or "API"), renewed first if it has
    expired and `management_url` is known."""
    keys = read_keys(key_file)
    if kind != "API" and expired(keys[kind]) and management_url:
        requests.get(f"{management_url.rstrip('/')}/token", params={"type": kind}, timeout=30,
                     headers={"Authorization": f"Bearer {keys['API']['key']}"})
        keys = read_keys(key_file)
    return keys[kind]["key"]
