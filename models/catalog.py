"""The catalog: what one version of a model is, answered in one place.

A model is its own files: `archive/<model>/model-config.yaml` (TorchServe's settings, and the
`handler` section the handler reads: threads, layout, precision, limits, defaults, and under
`versions.<version>` where one version differs), `handlers/<model>.py` (the one class TorchServe
instantiates), and for each version a weights manifest `weights/<model>-v<version>.json` that
names its weights, its network and, for an iterative sampler, its sampling function
(models/loader.py). A model's newest version is its default, unless the model-config's
`default_version` names another (a newer version that serves a narrower choice, as a distilled one).

Everything else asks a `ModelVersion` instead of knowing: the handler when its worker starts,
archive/build.py, the training scripts' sample grids, the evaluations, `make bench` and the tests
(the command line, the page and the README's request-fields table ask the server, which describes
what its handlers were built from). In the project the catalog finds them (`catalog`,
`model_version`); in a TorchServe worker the handler builds one from what the archive unpacked.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import torch
import yaml

from models.loader import build_sampler, load_network
from models.manifest import manifest_name, read_manifest, verified_weights
from models.onnx_network import OnnxRuntimeNetwork, export_graph, graph_weights
from models.precision import choose_precision
from models.progress import StepCallback
from models.seeds import Seeds

ROOT = Path(__file__).resolve().parent.parent
WEIGHTS = ROOT / "weights"
BACKENDS = ("pytorch", "onnxruntime")  # what a model-config's `backend` may say: what runs the network on a CPU


def config_file(model: str) -> str:
    """The model-config's path, relative to the project's root."""
    return f"archive/{model}/model-config.yaml"


def read_config(model: str, root: Path = ROOT) -> dict[str, Any]:
    """The model-config, as TorchServe hands it to the handler (`context.model_yaml_config`)."""
    return yaml.safe_load((root / config_file(model)).read_text())


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


@dataclass(frozen=True, eq=False)  # one per version: compared and hashed as itself
class ModelVersion:
    model: str
    version: str
    config: dict[str, Any]  # the whole model-config, every version's sections
    manifest_path: Path  # the weights manifest
    default: bool = False  # the version /predictions/<model> answers with

    @property
    def archive_name(self) -> str:
        """The archive's name in the model store: the default version's is the model's."""
        return self.model if self.default else f"{self.model}_v{self.version}"

    @property
    def handler_file(self) -> str:
        """The handler's path, relative to the project's root."""
        return f"handlers/{self.model}.py"

    @property
    def config_file(self) -> str:
        return config_file(self.model)

    def handler_class(self) -> type:
        """The class TorchServe instantiates: the one class that handlers/<model>.py defines."""
        module = importlib.import_module(f"handlers.{self.model}")
        [cls] = [c for _, c in inspect.getmembers(module, inspect.isclass) if c.__module__ == module.__name__]
        return cls

    @cached_property
    def manifest(self) -> dict[str, Any]:
        return read_manifest(self.manifest_path)

    @cached_property
    def handler_config(self) -> dict[str, Any]:
        """The model-config's `handler` section as this version sees it: the shared section, each
        setting replaced by `versions.<version>`'s own and the limits and defaults updated by its
        own, one by one (YAML reads an unquoted `2.0:` as a number, so versions are compared as text)."""
        shared = dict(self.config.get("handler") or {})
        versions = {str(version): part for version, part in shared.pop("versions", {}).items()}
        own = versions.get(self.version, {})
        merged = {**shared, **own}
        for part in ("limits", "defaults"):
            merged[part] = {**shared.get(part, {}), **own.get(part, {})}
        return merged

    @property
    def limits(self) -> dict[str, Any]:
        return self.handler_config["limits"]

    @property
    def defaults(self) -> dict[str, Any]:
        """What a request gets for a field it leaves out."""
        return self.handler_config["defaults"]

    @property
    def threads(self) -> int:
        """The threads of each of its workers, in torch and in numpy's BLAS (several workers share the CPU)."""
        return int(self.handler_config["torch_threads"])

    @property
    def channels_last(self) -> bool:
        return bool(self.handler_config.get("channels_last", False))

    def precision(self, device: torch.device) -> str:
        """"fp32" or "bf16": the model-config's `precision` on `device` (models/precision.py)."""
        return choose_precision(self.handler_config.get("precision", "fp32"), device)

    @property
    def example_request(self) -> dict[str, Any] | None:
        """What `make bench` sends to time the model: {"json": ...} or {"file": ..., "content_type": ...}."""
        return self.config.get("example_request")

    @property
    def modules(self) -> list[str]:
        """The modules of models/ that the manifest names (imported by name when it is loaded)."""
        names = [self.manifest.get("network", {}).get("class"), self.manifest.get("sampler", {}).get("function")]
        return [name.rpartition(".")[0] for name in names if name is not None]

    def weights_file(self) -> Path:
        """The weights file the manifest names, after checking its sha256."""
        path, _ = verified_weights(self.manifest_path)
        return path

    def backend(self, device: str | torch.device) -> str:
        """What runs the network on `device`: the model-config's `backend` on a CPU ("pytorch" if it
        says none), PyTorch elsewhere."""
        setting = self.handler_config.get("backend", "pytorch")
        if setting not in BACKENDS:
            raise ValueError(f"{self.config_file}: backend must be one of {', '.join(BACKENDS)}, not {setting!r}")
        return setting if torch.device(device).type == "cpu" else "pytorch"

    def exported_graph(self) -> Path:
        """The ONNX graph of the weights beside the manifest (models/onnx_network.py), exported
        first if it is missing or of other weights."""
        path = self.manifest_path.with_suffix(".onnx")
        sha256 = self.manifest["weights"]["sha256"]
        if graph_weights(path) != sha256:
            network, _ = load_network(self.manifest_path)
            export_graph(network, sha256, path)
        return path

    def network(self, device: str | torch.device = "cpu", backend: str | None = None) -> torch.nn.Module:
        """The trained network as a worker serves it: weights checked, eval mode, gradients off,
        in the model-config's memory layout, or through the backend it names (ONNX Runtime, on
        as many threads as torch has). `backend` asks for another one than the model-config's,
        as a worker with that setting would run it."""
        if backend not in (None, *BACKENDS):
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
        network, _ = load_network(self.manifest_path, device)
        if (backend or self.backend(device)) == "onnxruntime":
            return OnnxRuntimeNetwork(network, self.exported_graph(), torch.get_num_threads())
        if self.channels_last:
            network.to(memory_format=torch.channels_last)
        return network

    @property
    def is_iterative(self) -> bool:
        """Whether it is an iterative sampler (its manifest names a sampling function)."""
        return "sampler" in self.manifest

    def sampling_function(self) -> Callable[..., torch.Tensor]:
        """draw(network, seeds, steps, on_step=None, **settings) (models/progress.py)."""
        return build_sampler(self.manifest["sampler"])

    @property
    def steps_field(self) -> str:
        """The request field that counts an iterative sampler's steps (`handler.steps_field`)."""
        return self.handler_config["steps_field"]

    def served_sampling(self) -> tuple[int, dict[str, Any]]:
        """(steps, the sampling function's settings) that a request leaving them out gets: the
        defaults of the steps field and of the function's keyword-only arguments."""
        parameters = inspect.signature(self.sampling_function()).parameters.values()
        settings = [p.name for p in parameters if p.kind is p.KEYWORD_ONLY and p.default is p.empty]
        return self.defaults[self.steps_field], {name: self.defaults[name] for name in settings}

    def sample(self, network: torch.nn.Module, seeds: Seeds, on_step: StepCallback | None = None) -> torch.Tensor:
        """uint8 samples of `network` at the served steps and settings, as a worker draws them."""
        steps, settings = self.served_sampling()
        return self.sampling_function()(network, seeds, steps, on_step, **settings)


def model_versions(model: str, weights: Path = WEIGHTS, root: Path = ROOT) -> list[ModelVersion]:
    """A model's versions, the default first (the model-config's `default_version` where `weights` has
    it, else the newest), then newest first: its manifests in `weights`."""
    path = root / config_file(model)
    manifests = {}
    for manifest_path in sorted(weights.glob(f"{model}-v*.json")):
        manifest = read_manifest(manifest_path)
        if manifest["model"] != model:
            continue
        # A worker opens its manifest by the naming rule: a manifest named otherwise would not be found there.
        if manifest_path.name != manifest_name(model, manifest["version"]):
            raise ValueError(f"{manifest_path} describes {model} {manifest['version']}: it must be named "
                             f"{manifest_name(model, manifest['version'])}")
        manifests[manifest["version"]] = manifest_path
    if not manifests:
        raise FileNotFoundError(f"{path} has no weights: no {weights.name}/{model}-v<version>.json")
    config = read_config(model, root)
    versions = sorted(manifests, key=version_key, reverse=True)
    # A folder of weights may hold some versions only (a training script's --out): there the newest is the default.
    named = str(config.get("default_version"))  # YAML reads an unquoted 2.0 as a number
    default = named if named in manifests else versions[0]
    versions.sort(key=lambda version: version != default)
    return [ModelVersion(model, version, config, manifests[version], default=version == default)
            for version in versions]


def model_version(model: str, version: str, weights: Path = WEIGHTS, root: Path = ROOT) -> ModelVersion:
    for entry in model_versions(model, weights, root):
        if entry.version == version:
            return entry
    raise KeyError(f"{model} has no version {version} in {weights}")


def catalog(weights: Path = WEIGHTS, root: Path = ROOT) -> list[ModelVersion]:
    """Every version of every model, by model name, each model's default version first. A model is a
    folder `archive/<model>/` holding a model-config.yaml."""
    models = sorted(path.parent.name for path in (root / "archive").glob("*/model-config.yaml"))
    return [entry for model in models for entry in model_versions(model, weights, root)]
