"""archive/build.py: what it finds, what each archive holds, and config.properties' load order."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from archive.build import CONFIG, find_archives, imported_modules, load_models, stage, update_config, weights_files
from models.catalog import ROOT, read_config, version_key
from models.manifest import weights_name
from models.onnx_network import graph_weights
from tsclient.properties import read_properties

ARCHIVES = find_archives()


def test_every_model_folder_gives_an_archive_per_version_and_the_default_is_named_by_the_model():
    models = {archive.model for archive in ARCHIVES.values()}
    assert models >= {"bigram", "embed", "similar", "cifar10", "gan", "ebm", "diffusion"}
    for model in models:
        versions = {a.version: (a.default, name) for name, a in ARCHIVES.items() if a.model == model}
        default = str(read_config(model).get("default_version", max(versions, key=version_key)))
        assert all(versions[v] == ((True, model) if v == default else (False, f"{model}_v{v}")) for v in versions)
    assert ARCHIVES["cifar10"].version == "3.0" and ARCHIVES["cifar10_v2.0"].version == "2.0"
    assert ARCHIVES["cifar10_v1.0"].version == "1.0"
    assert ARCHIVES["diffusion"].version == "2.0" and ARCHIVES["diffusion_v2.1"].version == "2.1"
    assert ARCHIVES["diffusion_v2.2"].version == "2.2"


def test_imports_are_followed_in_every_form_and_through_each_other(tmp_path):
    files = {"handlers/toy.py": "import os\nfrom models import line\nimport models.plot\nfrom handlers.base import A",
             "handlers/base.py": "from models.images import to_uint8", "models/line.py": "", "models/plot.py": "",
             "models/images.py": "import torch", "models/unused.py": ""}
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    assert imported_modules(["handlers/toy.py"], tmp_path) == [
        "handlers/base.py", "handlers/toy.py", "models/images.py", "models/line.py", "models/plot.py"]


def test_updating_the_config_writes_load_models_in_both_copies_keeping_their_indent(tmp_path):
    plain, indented = tmp_path / "config.properties", tmp_path / "configmap.yaml"
    plain.write_text("a=1\nload_models=old.mar\nb=2\n")
    indented.write_text("data:\n  config.properties: |\n    a=1\n    load_models=old.mar\n")
    assert update_config(ARCHIVES, (plain, indented))
    assert plain.read_text() == f"a=1\nload_models={load_models(ARCHIVES)}\nb=2\n"
    assert indented.read_text().endswith(f"\n    a=1\n    load_models={load_models(ARCHIVES)}\n")
    assert not update_config(ARCHIVES, (plain, indented))
    assert not update_config(ARCHIVES, (plain, tmp_path / "absent.yaml"))  # a copy of the project without deploy/


def test_config_properties_loads_every_archive_each_default_first():
    """Run `make archive` (archive/build.py --update-config) when this fails."""
    assert read_properties(CONFIG)["load_models"] == load_models(ARCHIVES)
    names = load_models(ARCHIVES).split(",")
    for name, archive in ARCHIVES.items():
        default = names.index(f"{archive.model}.mar")
        assert default <= names.index(f"{name}.mar")


@pytest.mark.parametrize("name", sorted(ARCHIVES))
def test_an_archive_holds_every_module_its_handler_and_network_import(name, tmp_path):
    """The staged files alone, without the repository on the path, import the handler and the
    network and sampler its manifest names, as a TorchServe worker does."""
    archive = ARCHIVES[name]
    stage(archive, tmp_path)
    shutil.copy(ROOT / archive.handler_file, tmp_path / f"{archive.model}.py")  # the handler sits at the root
    check = f"""
import json, sys
sys.path.insert(0, {str(tmp_path)!r})
import {archive.model}
from models.loader import build_network, build_sampler
manifest = json.load(open({str(tmp_path / Path(weights_files(archive)[0]).name)!r}))
if "network" in manifest:
    build_network(manifest["network"])
if "sampler" in manifest:
    build_sampler(manifest["sampler"])
project = [m for name, m in sys.modules.items() if name.split(".")[0] in ("handlers", "models")]
print([m.__file__ for m in project if not m.__file__.startswith({str(tmp_path)!r})])
"""
    result = subprocess.run([sys.executable, "-I", "-c", check], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"  # no module came from elsewhere


def test_a_version_served_through_onnx_runtime_carries_the_graph_of_its_own_weights(tmp_path):
    served = [entry for entry in ARCHIVES.values() if entry.backend("cpu") == "onnxruntime"]
    assert sorted((entry.model, entry.version) for entry in served) == [("diffusion", "2.0"), ("diffusion", "2.1"),
                                                                                ("diffusion", "2.2")]
    for entry in served:
        stage(entry, tmp_path)
        assert graph_weights(tmp_path / f"{weights_name(entry.model, entry.version)}.onnx") == \
            entry.manifest["weights"]["sha256"]
