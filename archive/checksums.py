"""The sha256 of every archive `make archive` built, kept beside them in `<model store>/SHA256SUMS`
(the format of `sha256sum`), and checked before a server loads them: an archive
changed after it was built (tampered with, or copied in from elsewhere) is refused by name.
"""

from __future__ import annotations

from pathlib import Path

from models.manifest import sha256_of

FILE_NAME = "SHA256SUMS"


def recorded(model_store: Path) -> dict[str, str]:
    """{archive file name: sha256} as `make archive` recorded them."""
    path = Path(model_store) / FILE_NAME
    if not path.exists():
        return {}
    sums = {}
    for line in path.read_text().splitlines():
        digest, _, name = line.partition("  ")
        sums[name] = digest
    return sums


def record(model_store: Path, archive_file: str) -> None:
    """Record the sha256 of `<model_store>/<archive_file>`, just built."""
    sums = {**recorded(model_store), archive_file: sha256_of(Path(model_store) / archive_file)}
    (Path(model_store) / FILE_NAME).write_text("".join(f"{digest}  {name}\n" for name, digest in sorted(sums.items())))


def check(model_store: Path, archive_files: list[str]) -> None:
    """Raise ValueError naming the first archive that is missing or differs from its record."""
    sums = recorded(model_store)
    for name in archive_files:
        path = Path(model_store) / name
        if name not in sums:
            raise ValueError(f"{path}: no sha256 recorded for it in {FILE_NAME}; build it with make archive")
        if not path.exists():
            raise ValueError(f"{path}: the archive is missing; build it with make archive")
        if sha256_of(path) != sums[name]:
            raise ValueError(f"{path}: its sha256 differs from the one make archive recorded: the archive was "
                             "changed after it was built; refusing to serve it (make archive rebuilds it)")
