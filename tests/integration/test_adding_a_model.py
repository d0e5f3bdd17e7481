"""Adding a model, exactly as the README's "Adding a model" says, with the toy model of tests/toy_model/
(a straight line): its files are written into a copy of the project, `make train MODEL=toy` and
`make archive` run there, and its archive is registered and served next to the real models."""

import shutil
import subprocess
from pathlib import Path

import pytest

from scripts.server import read_properties
from tests.helpers import ROOT

TOY = ROOT / "tests" / "toy_model"
PROJECT = ("Makefile", "requirements.txt", "config.properties", "handlers", "models", "training", "archive", "weights")


def toy_files() -> list[Path]:
    files = [path for path in TOY.rglob("*") if path.is_file() and "__pycache__" not in path.parts]
    return sorted(path.relative_to(TOY) for path in files)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A copy of the project with the toy model's files added and nothing else changed."""
    project = tmp_path_factory.mktemp("project")
    for name in PROJECT:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=shutil.ignore_patterns("model-store", "__pycache__"))
        else:
            shutil.copy2(source, project / name)
    (project / ".venv").symlink_to(ROOT / ".venv")
    for file in toy_files():
        assert not (project / file).exists(), f"{file} would replace a file of the project"
        (project / file).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(TOY / file, project / file)
    return project


def make(project: Path, *targets: str) -> None:
    result = subprocess.run(["make", *targets], cwd=project, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_the_toy_model_is_four_small_files():
    assert [str(f) for f in toy_files()] == ["archive/toy/model-config.yaml", "handlers/toy.py", "models/toy.py",
                                             "training/toy.py"]
    assert sum(len((TOY / f).read_text().splitlines()) for f in toy_files()) < 100


def test_the_toy_model_trains_builds_and_is_served_next_to_the_real_ones(project, server, client, model_store):
    make(project, "train", "MODEL=toy")
    make(project, "archive")
    assert "toy.mar" in read_properties(project / "config.properties")["load_models"].split(",")
    shutil.copy(project / "archive" / "model-store" / "toy.mar", model_store / "toy.mar")
    registered = server.management("POST", "/models", params={"url": "toy.mar", "synchronous": "true",
                                                               "initial_workers": 1})
    try:
        assert registered.status_code == 200, registered.text
        answer = client.predict("toy", {"x": 1.5})
        assert answer.status_code == 200, answer.text
        assert answer.json()["x"] == 1.5 and answer.json()["y"] == pytest.approx(4.0, abs=0.05)  # y = 2x + 1
        refused = client.predict("toy", {"x": 1000})
        assert refused.status_code == 400 and refused.json()["field"] == "x" and "-100.0..100.0" in refused.text
        assert client.predict("bigram", {"start_word": "the", "seed": 1}).status_code == 200
    finally:
        server.management("DELETE", "/models/toy")
        (model_store / "toy.mar").unlink()
