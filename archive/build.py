"""Build one TorchServe archive (.mar) per model with torch-model-archiver.

Each archive holds the model's handler (at its root, as TorchServe expects), the shared handler
module and the `models/` files it imports (as the packages `handlers` and `models`), its weights
and manifest, and its model-config.yaml. An archive newer than all of its inputs is not rebuilt.

    python archive/build.py [--model-store archive/model-store] [--force] [MODEL ...]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ["handlers/__init__.py", "handlers/request_handler.py", "models/__init__.py",
          "models/manifest.py"]
IMAGE_GENERATOR = ("handlers/image_io.py", "handlers/image_generator.py", "handlers/stream.py",
                   "models/images.py")
ITERATIVE_SAMPLER = (*IMAGE_GENERATOR, "handlers/iterative_sampler.py", "models/progress.py")


@dataclass(frozen=True)
class Archive:
    model: str
    version: str
    sources: tuple[str, ...]  # files of models/ (and handlers/) that the handler imports
    weights: tuple[str, ...]  # files of weights/, placed at the archive's root
    default_version: bool = False  # the version /predictions/<model> answers with

    @property
    def handler(self) -> str:
        return f"handlers/{self.model}.py"

    @property
    def config(self) -> str:
        return f"archive/{self.model}/model-config.yaml"

    def inputs(self) -> list[Path]:
        files = [self.handler, self.config, *SHARED, *self.sources, *self.weights]
        return [ROOT / f for f in files]


ARCHIVES = {
    "bigram": Archive("bigram", "1.0", ("models/bigram.py",),
                      ("weights/bigram.pt", "weights/bigram.json")),
    "embed": Archive("embed", "1.0", ("models/word_vectors.py",), ("weights/embed.json",)),
    "similar": Archive("similar", "1.0", ("models/word_vectors.py",), ("weights/similar.json",)),
    "cifar10_v1": Archive("cifar10", "1.0", ("models/cifar10.py", "handlers/image_io.py"),
                          ("weights/cifar10-v1.0.pt", "weights/cifar10-v1.0.json")),
    "cifar10": Archive("cifar10", "2.0", ("models/cifar10.py", "handlers/image_io.py"),
                       ("weights/cifar10-v2.0.pt", "weights/cifar10-v2.0.json"), default_version=True),
    "gan_v1": Archive("gan", "1.0", ("models/gan.py", *IMAGE_GENERATOR),
                      ("weights/gan-v1.0.pt", "weights/gan-v1.0.json")),
    "gan": Archive("gan", "2.0", ("models/gan.py", *IMAGE_GENERATOR),
                   ("weights/gan-v2.0.pt", "weights/gan-v2.0.json"), default_version=True),
    "ebm": Archive("ebm", "1.0", ("models/ebm.py", "models/langevin.py", *ITERATIVE_SAMPLER),
                   ("weights/ebm.pt", "weights/ebm.json")),
    "diffusion": Archive("diffusion", "1.0", ("models/unet.py", "models/diffusion_schedule.py",
                                              "models/diffusion_sampler.py", "models/cifar10.py",
                                              *ITERATIVE_SAMPLER),
                         ("weights/diffusion.pt", "weights/diffusion.json")),
}


def build(name: str, archive: Archive, model_store: Path, force: bool) -> bool:
    """Build `<model_store>/<name>.mar` unless it is newer than its inputs; True if built."""
    mar = model_store / f"{name}.mar"
    if not force and mar.exists():
        if mar.stat().st_mtime >= max(p.stat().st_mtime for p in archive.inputs()):
            return False
    stage = ROOT / "build" / "stage" / name
    shutil.rmtree(stage, ignore_errors=True)
    for file in [*SHARED, *archive.sources]:
        (stage / file).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / file, stage / file)
    for file in archive.weights:
        shutil.copy2(ROOT / file, stage / Path(file).name)
    model_store.mkdir(parents=True, exist_ok=True)
    subprocess.run([
        str(Path(sys.executable).parent / "torch-model-archiver"),
        "--model-name", archive.model, "--version", archive.version,
        "--handler", str(ROOT / archive.handler),
        "--extra-files", str(stage),  # a folder: its contents go to the archive's root
        "--config-file", str(ROOT / archive.config),
        "--export-path", str(model_store), "--force",
    ], check=True)
    if mar.name != f"{archive.model}.mar":
        (model_store / f"{archive.model}.mar").replace(mar)
    shutil.rmtree(stage)
    return True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", help=f"any of {', '.join(ARCHIVES)} (default: all)")
    parser.add_argument("--model-store", type=Path, default=ROOT / "archive" / "model-store")
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = parser.parse_args(argv)
    unknown = set(args.models) - set(ARCHIVES)
    if unknown:
        parser.error(f"unknown model(s) {', '.join(sorted(unknown))}; known: {', '.join(ARCHIVES)}")
    for name in args.models or ARCHIVES:
        built = build(name, ARCHIVES[name], args.model_store, args.force)
        print(f"{'built' if built else 'up to date'}: {args.model_store / name}.mar")


if __name__ == "__main__":
    main()
