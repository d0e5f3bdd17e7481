"""The README's generated sections: Markdown tables, and the text between a section's two markers
(`<!-- name: start -->` ... `<!-- name: end -->`), replaced by what `make bench`, `make loadtest`
and scripts/request_tables.py measure or read."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def markers(name: str) -> tuple[str, str]:
    """The start and end markers of the README's section `name`."""
    return f"<!-- {name}: start -->", f"<!-- {name}: end -->"


def table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def section(readme: Path, name: str) -> str:
    """What stands between the markers of section `name` now."""
    start, end = markers(name)
    return readme.read_text().split(start, 1)[1].split(end, 1)[0].strip()


def replace_section(readme: Path, name: str, text: str) -> None:
    """Replace what stands between the markers of section `name` (they must be there)."""
    start, end = markers(name)
    content = readme.read_text()
    if start not in content or end not in content:
        raise ValueError(f"{readme} has no {start} ... {end} section")
    before, rest = content.split(start, 1)
    _, after = rest.split(end, 1)
    readme.write_text(f"{before}{start}\n{text}\n{end}{after}")
