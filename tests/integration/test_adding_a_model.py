"""Adding a model, exactly as the README's "Adding a model" says, with the toy model of tests/toy_model/
(a straight line), into a running server: a copy of the project serves the real models (`make
serve`), then the toy's four files are written into it, `make train MODEL=toy`, `make archive` and
`make register MODEL=toy` serve it next to them without a restart. Nothing else is edited, and the
toy model appears wherever the real ones do: describe, the property-based hostile-input tests, `make
bench`'s serving table, the command line's help and the web page. A restart serves what
`load_models` names, every archive of the model store, and nothing registered or unregistered
before it (the server keeps no snapshot)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from models.catalog import ROOT
from scripts.request_tables import described
from scripts.server import Server, on_free_ports
from tests.integration.conftest import Client
from tests.integration.test_hostile_input import refuses_every_hostile_request
from tests.integration.test_web_page import form_shows_the_schema, page_on
from tsclient.client import Client as TsClient

TOY = ROOT / "tests" / "toy_model"
PROJECT = ("Makefile", "pyproject.toml", "requirements.txt", "config.properties", "handlers", "models", "training",
           "scripts", "archive", "bench", "tsclient", "ui", "weights")


def toy_files() -> list[Path]:
    files = [path for path in TOY.rglob("*") if path.is_file() and "__pycache__" not in path.parts]
    return sorted(path.relative_to(TOY) for path in files)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A copy of the project (its server on free ports) with the toy model's files added, nothing else changed."""
    project = tmp_path_factory.mktemp("project")
    for name in PROJECT:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=shutil.ignore_patterns("model-store", "__pycache__"))
        else:
            shutil.copy2(source, project / name)
    on_free_ports(project / "config.properties")
    (project / ".venv").symlink_to(ROOT / ".venv")
    return project


def add_the_toy_model(project: Path) -> None:
    for file in toy_files():
        assert not (project / file).exists(), f"{file} would replace a file of the project"
        (project / file).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(TOY / file, project / file)


def make(project: Path, *targets: str) -> None:
    result = subprocess.run(["make", *targets], cwd=project, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def in_project(project: Path, *args: str) -> str:
    """What the project copy's Python prints for `args` (its own packages first on the path)."""
    result = subprocess.run([str(project / ".venv" / "bin" / "python"), *args], cwd=project, capture_output=True,
                            text=True, env={**os.environ, "PYTHONPATH": str(project)})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


@pytest.fixture(scope="module")
def served(project) -> Server:
    make(project, "serve")
    try:
        server = Server(project / ".torchserve", project / "config.properties", project / "archive" / "model-store")
        assert Client(server).predict("toy", {"x": 1.5}).status_code == 404
        add_the_toy_model(project)
        make(project, "train", "MODEL=toy")
        make(project, "archive")
        make(project, "register", "MODEL=toy")
        yield server
    finally:
        make(project, "stop")


def test_the_toy_model_is_four_small_files():
    assert [str(f) for f in toy_files()] == ["archive/toy/model-config.yaml", "handlers/toy.py", "models/toy.py",
                                             "training/toy.py"]
    assert sum(len((TOY / f).read_text().splitlines()) for f in toy_files()) < 100


def test_the_toy_model_is_served_next_to_the_real_ones(served):
    client = Client(served)
    answer = client.predict("toy", {"x": 1.5})
    assert answer.status_code == 200, answer.text
    assert answer.json()["x"] == 1.5 and answer.json()["y"] == pytest.approx(4.0, abs=0.05)  # y = 2x + 1
    refused = client.predict("toy", {"x": 1000})
    assert refused.status_code == 400 and refused.json()["field"] == "x" and "-100.0..100.0" in refused.text
    assert client.predict("bigram", {"start_word": "the", "seed": 1}).status_code == 200
    assert client.predict("cifar10", data=(ROOT / "tests/fixtures/cifar10/ship.jpg").read_bytes(),
                          headers={"Content-Type": "image/jpeg"}).json()["pred_label"] == "ship"


def test_the_toy_model_is_described_and_its_fields_are_attacked_like_the_others(served):
    schemas = dict(described(served))
    assert schemas["toy/1.0"]["request"]["fields"] == {
        "x": {"type": "number", "required": True, "bounds": [-100.0, 100.0]}}
    assert {"bigram/1.0", "cifar10/2.0", "diffusion/1.0"} <= set(schemas)
    refuses_every_hostile_request(Client(served), "toy/1.0", schemas["toy/1.0"])()


def test_the_toy_model_has_its_row_in_the_bench_serving_table(served, project):
    table = in_project(project, "-c", """
from bench.report import serving_table
from bench.serving import served_models, serving_row
from models.catalog import ROOT, WEIGHTS
from scripts.server import Server
server = Server(ROOT / ".torchserve", ROOT / "config.properties", ROOT / "archive" / "model-store")
models = served_models(WEIGHTS)
print([entry.model for entry in models])
[toy] = [entry for entry in models if entry.model == "toy"]
print(serving_table([serving_row(server, toy, WEIGHTS, count=3, seconds=0.2)]))
""")
    assert "'toy'" in table.splitlines()[0] and "'diffusion'" in table.splitlines()[0]
    latency, split = [line for line in table.splitlines() if line.startswith("| toy 1.0 |")]
    assert float(latency.split("|")[3]) > 0  # its served p50 in ms
    assert float(split.split("|")[6]) > 0  # where its time goes: the handler's model stage, from the worker's metrics


def test_the_toy_model_is_a_command_of_the_command_line(served, project):
    connection = ["--url", served.inference_url, "--management-url", served.management_url,
                  "--key-file", str(served.workdir / "key_file.json")]
    overview = in_project(project, "-m", "tsclient", *connection, "--help")
    assert "\n    toy " in overview and "\n    bigram " in overview
    shown = " ".join(in_project(project, "-m", "tsclient", *connection, "toy", "--help").split())
    assert "toy 1.0: its fields as the server describes them" in shown and "a number in -100..100 (required)" in shown
    assert in_project(project, "-m", "tsclient", "--json", *connection, "toy", "1.5").startswith('{"x": 1.5')


def test_the_toy_model_has_its_form_on_the_page(served):
    client = TsClient(url=served.inference_url, key_file=served.workdir / "key_file.json",
                      management_url=served.management_url)
    assert "toy" in client.models()
    with page_on(served) as page:
        form_shows_the_schema(page, client.describe("toy", "1.0"))


def test_a_restart_serves_load_models_alone(served, project):
    """Last: the toy model, registered after start, is now in load_models (make archive wrote it) and
    comes back after a restart; a version unregistered before the restart comes back too."""
    make(project, "unregister", "MODEL=gan", "VERSION=1.0")
    client = Client(served)
    assert client.predict("gan/1.0", {"seed": 1}).status_code == 404
    make(project, "stop")
    make(project, "serve")
    client = Client(served)
    assert "toy.mar" in (project / "config.properties").read_text()
    assert client.predict("gan/1.0", {"seed": 1}).status_code == 200
    assert client.predict("toy", {"x": 1.5}).json()["y"] == pytest.approx(4.0, abs=0.05)
