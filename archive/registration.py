"""The guard on model registration: only an archive that `make archive` built, unchanged since.

TorchServe 0.12 loads whatever a registration's `url` names: an archive of its model store, but
also any absolute folder on the disk (handler code included) and, where `allowed_urls` lets it, a
download. So the door in front of it (scripts/gateway.py, `make register`) passes on a registration
only for a bare archive file name that `<model store>/SHA256SUMS` records and whose bytes still
match; anything else is refused with the reason, and TorchServe never sees it.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

from archive import checksums
from models.manifest import sha256_of

ARCHIVE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\.mar")


class RegistrationRefused(ValueError):
    """A registration url that names no recorded archive of the model store; the message says why."""


def registrable_archive(url: str, model_store: Path) -> str:
    """The archive file name `url` names, once it is a bare file name of the model store that
    SHA256SUMS records and whose sha256 still matches; else RegistrationRefused."""
    if "%" in url:  # an archive name never needs one; decoding (once, twice) could hide "/" or ".."
        raise RegistrationRefused(f"url {unquote(url)!r} is percent-encoded: send the archive's file name as is")
    if "://" in url or ":" in url:
        raise RegistrationRefused(f"url {url!r} names a location (a scheme such as file://, http:// or s3://): "
                                  "only an archive file name of the model store is registered here")
    if "/" in url or "\\" in url or ".." in url:
        raise RegistrationRefused(f"url {url!r} is a path: only an archive file name of the model store, "
                                  "such as diffusion.mar, is registered here")
    if not ARCHIVE_NAME.fullmatch(url):
        raise RegistrationRefused(f"url {url!r} is not an archive file name (letters, digits, '_', '-', '.', "
                                  "ending in .mar)")
    sums = checksums.recorded(model_store)
    if url not in sums:
        raise RegistrationRefused(f"url {url!r}: no archive of that name was built by make archive "
                                  f"(known: {', '.join(sorted(sums)) or 'none'})")
    path = Path(model_store) / url
    if path.is_symlink() or not path.is_file():
        raise RegistrationRefused(f"url {url!r}: the model store holds no such archive file; run make archive")
    if sha256_of(path) != sums[url]:
        raise RegistrationRefused(f"url {url!r}: the archive's sha256 differs from the one make archive recorded "
                                  "(changed after it was built); make archive rebuilds it")
    return url
