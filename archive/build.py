"""Build one TorchServe archive (.mar) per version of every model with torch-model-archiver.

Nothing here is a hand-kept list: the catalog (models/catalog.py) finds every version of every
model, and says where its handler, model-config and weights manifest are and which modules of
models/ its manifest names (its network, its sampler). An archive holds the handler (at its root,
as TorchServe expects), the modules of `handlers/` and `models/` that it and those named modules
import, directly or through each other (as the packages `handlers` and `models`), its manifest and
weights, and the model-config.yaml. A model's default version's archive is `<model>.mar`, the
others' `<model>_v<version>.mar`. TorchServe makes the first version it registers the default, so
config.properties' `load_models` lists every archive, each model's default first (`--update-config`
writes that line; a test checks it).
An archive newer than all of its inputs, with its sha256 recorded (archive/checksums.py), is not
rebuilt; each archive built has its sha256 recorded in the model store's SHA256SUMS.

    python archive/build.py [--model-store archive/model-store] [--force] [--update-config] [ARCHIVE ...]
"""

from __future__ import annotations

import argparse
import ast
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the project's packages
from archive import checksums  # noqa: E402
from models.catalog import ROOT, ModelVersion, catalog  # noqa: E402

PACKAGES = ("handlers", "models")
CONFIG = ROOT / "config.properties"
CONFIGMAP = ROOT / "deploy" / "kubernetes" / "configmap.yaml"  # config.properties again, for Kubernetes


def find_archives() -> dict[str, ModelVersion]:
    """Every archive, by name: each model's versions, the default first."""
    return {entry.archive_name: entry for entry in catalog()}


def weights_files(entry: ModelVersion) -> list[str]:
    """The manifest, the weights file it names if that sits next to it (not in a package), and the
    ONNX graph of a version that CPU workers run through ONNX Runtime (exported here if need be)."""
    manifest = entry.manifest_path.relative_to(ROOT)
    weights = entry.manifest["weights"]
    if "package" in weights:
        return [str(manifest)]
    graph = [str(entry.exported_graph().relative_to(ROOT))] if entry.backend("cpu") == "onnxruntime" else []
    return [str(manifest), str(manifest.parent / weights["file"]), *graph]


def sources(entry: ModelVersion) -> list[str]:
    """The project modules the handler needs, with their packages' __init__.py."""
    modules = imported_modules([entry.handler_file, *(module_path(module) for module in entry.modules)])
    packages = sorted({f"{module.split('/')[0]}/__init__.py" for module in modules})
    return packages + modules


def inputs(entry: ModelVersion) -> list[Path]:
    return [ROOT / f for f in [entry.handler_file, entry.config_file, *sources(entry), *weights_files(entry)]]


def module_path(module: str) -> str:
    return module.replace(".", "/") + ".py"


def imported_modules(files: list[str], root: Path = ROOT) -> list[str]:
    """The files and the modules of `handlers` and `models` they import, directly or through each
    other (paths relative to the project's `root`)."""
    found = set(files)
    todo = list(files)
    while todo:
        for node in ast.walk(ast.parse((root / todo.pop()).read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                # `from models.x import y` imports models.x; `from models import x` imports models.x too.
                names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            else:
                continue
            for name in names:
                path = module_path(name)
                if name.split(".")[0] in PACKAGES and (root / path).exists() and path not in found:
                    found.add(path)
                    todo.append(path)
    return sorted(found)


def stage(entry: ModelVersion, folder: Path) -> None:
    """Lay out in `folder` what goes to the archive's root besides the handler."""
    shutil.rmtree(folder, ignore_errors=True)
    for file in sources(entry):
        if file != entry.handler_file:
            (folder / file).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / file, folder / file)
    for file in weights_files(entry):
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / file, folder / Path(file).name)


def build(entry: ModelVersion, model_store: Path, force: bool) -> bool:
    """Build `<model_store>/<name>.mar` unless it is newer than its inputs and recorded; True if built."""
    mar = model_store / f"{entry.archive_name}.mar"
    if not force and mar.exists() and mar.name in checksums.recorded(model_store):
        if mar.stat().st_mtime >= max(p.stat().st_mtime for p in inputs(entry)):
            return False
    folder = ROOT / "build" / "stage" / entry.archive_name
    stage(entry, folder / "files")
    subprocess.run([
        str(Path(sys.executable).parent / "torch-model-archiver"),
        "--model-name", entry.model, "--version", entry.version,
        "--handler", str(ROOT / entry.handler_file),
        "--extra-files", str(folder / "files"),  # a folder: its contents go to the archive's root
        "--config-file", str(ROOT / entry.config_file),
        "--export-path", str(folder), "--force",
    ], check=True)
    model_store.mkdir(parents=True, exist_ok=True)
    (folder / f"{entry.model}.mar").replace(mar)  # the archiver names it after the model
    checksums.record(model_store, mar.name)
    shutil.rmtree(folder)
    return True


def load_models(archives: dict[str, ModelVersion]) -> str:
    """config.properties' `load_models` value: every archive, each model's default version first."""
    return ",".join(f"{name}.mar" for name in archives)


def update_config(archives: dict[str, ModelVersion], paths: tuple[Path, ...] = (CONFIG, CONFIGMAP)) -> bool:
    """Write `load_models` into config.properties and its copy in the Kubernetes ConfigMap (where
    its lines are indented), where a copy of the project has that file; True if either changed."""
    changed = False
    for path in (path for path in paths if path.exists()):
        lines = path.read_text().splitlines(keepends=True)
        index = next(i for i, old in enumerate(lines) if old.lstrip().startswith("load_models="))
        indent = lines[index][:len(lines[index]) - len(lines[index].lstrip())]
        line = f"{indent}load_models={load_models(archives)}\n"
        if lines[index] != line:
            lines[index] = line
            path.write_text("".join(lines))
            changed = True
    return changed


def main(argv: list[str] | None = None) -> None:
    archives = find_archives()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archives", nargs="*", help=f"any of {', '.join(archives)} (default: all)")
    parser.add_argument("--model-store", type=Path, default=ROOT / "archive" / "model-store")
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    parser.add_argument("--update-config", action="store_true",
                        help="write load_models into config.properties and the Kubernetes ConfigMap")
    args = parser.parse_args(argv)
    unknown = set(args.archives) - set(archives)
    if unknown:
        parser.error(f"unknown archive(s) {', '.join(sorted(unknown))}; known: {', '.join(archives)}")
    for name in args.archives or archives:
        built = build(archives[name], args.model_store, args.force)
        print(f"{'built' if built else 'up to date'}: {args.model_store / name}.mar")
    if args.update_config and update_config(archives):
        print(f"{CONFIG.name} and {CONFIGMAP.name}: load_models is now {load_models(archives)}")


if __name__ == "__main__":
    main()
