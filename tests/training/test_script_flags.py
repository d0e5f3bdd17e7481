"""The README's table of flags (section "Retraining") is true: each script it names accepts each flag
listed for it, and it covers every script in training/ (a script is a module with a `main`). Its row
"every training script with epochs" stands for each script built on `training_arguments`, so a new
model's training script needs no new row."""

import importlib
import re

import pytest

from models.catalog import ROOT

# A value for each flag that takes one, different from its default.
VALUES = {"--data-dir": "d", "--weights-dir": "w", "--out": "o", "--checkpoint-dir": "c", "--epochs": "3",
          "--device": "meta", "--seed": "7", "--hours": "0.5", "--version": "1.0", "--batch-size": "4",
          "--text": "t.txt", "--holdout-chapters": "2", "--min-count": "1", "--model": "ebm",
          "--offset": "2", "--resume": None}


EVERY_TRAINING_SCRIPT = "every training script with epochs"


def scripts(*needles: str) -> list[str]:
    """The modules of training/ whose text holds every needle."""
    return sorted(path.stem for path in (ROOT / "training").glob("*.py")
                  if all(needle in path.read_text() for needle in needles))


def readme_flags() -> list[tuple[str, list[str]]]:
    """(script, flags) for each script in each row of the table."""
    section = (ROOT / "README.md").read_text().split("## Retraining", 1)[1].split("\n## ", 1)[0]
    claims = []
    for names, flags in re.findall(r"^\| ([^|]*) \| (`[^|]*`) \|$", section, re.MULTILINE):
        if names.startswith(EVERY_TRAINING_SCRIPT):
            names = " ".join(scripts("\ndef main(", "training_arguments("))
        claims += [(script, flags.replace("`", "").split()) for script in names.replace("`", "").split()]
    return claims


def test_the_table_covers_every_script():
    assert {script for script, _ in readme_flags()} == set(scripts("\ndef main("))


@pytest.mark.parametrize(("script", "flags"), readme_flags())
def test_each_script_accepts_the_flags_the_readme_lists(script, flags):
    argv = [item for flag in flags for item in ([flag] if VALUES[flag] is None else [flag, VALUES[flag]])]
    args = importlib.import_module(f"training.{script}").arguments().parse_args(argv)
    for flag in flags:
        value = getattr(args, flag.removeprefix("--").replace("-", "_"))
        assert (value is True) if VALUES[flag] is None else (str(value) == VALUES[flag]), flag
