"""The catalog (models/catalog.py): what it finds, and what it says of each version."""

import json

import pytest
import torch

from models.catalog import ModelVersion, catalog, model_version, model_versions
from models.diffusion_sampler import reverse_diffusion
from models.langevin import sample_from_noise
from models.seeds import Seeds


def test_it_finds_every_version_of_every_model_each_default_first():
    entries = catalog()
    assert [(e.model, e.version, e.default) for e in entries if e.model in ("cifar10", "ebm")] == [
        ("cifar10", "3.0", True), ("cifar10", "2.0", False), ("cifar10", "1.0", False), ("ebm", "2.0", True),
        ("ebm", "1.0", False)]
    assert {e.model for e in entries} >= {"bigram", "embed", "similar", "cifar10", "gan", "ebm", "diffusion"}
    assert [e.archive_name for e in model_versions("gan")] == ["gan", "gan_v1.0"]


def test_each_version_gets_its_own_served_defaults_and_limits():
    assert model_version("ebm", "1.0").defaults == {"num_samples": 16, "steps": 1000, "step_size": 10.0,
                                                    "noise": 0.005}
    ebm2 = model_version("ebm", "2.0")
    assert ebm2.defaults == {"num_samples": 16, "steps": 10, "step_size": 1.0, "noise": 0.0, "sampler": "dpmpp_2m"}
    assert ebm2.limits["step_size"] == [0.0, 2.0] and ebm2.limits["num_samples"] == [1, 64]
    assert model_version("diffusion", "1.0").defaults["sampler"] == "dpmpp_2m"


def test_it_says_how_a_version_is_served():
    diffusion = model_version("diffusion", "1.0")
    assert diffusion.handler_class().__name__ == "DiffusionHandler"
    assert diffusion.handler_file == "handlers/diffusion.py"
    assert diffusion.config_file == "archive/diffusion/model-config.yaml"
    assert diffusion.threads == 1 and diffusion.channels_last and diffusion.precision(torch.device("cpu")) == "fp32"
    assert diffusion.is_iterative and diffusion.sampling_function() is reverse_diffusion
    assert diffusion.served_sampling() == (10, {"sampler": "dpmpp_2m", "eta": 0.0})
    assert diffusion.modules == ["models.unet", "models.diffusion_sampler"]
    assert model_version("ebm", "1.0").sampling_function() is sample_from_noise
    assert not model_version("cifar10", "2.0").is_iterative and not model_version("cifar10", "2.0").channels_last
    assert model_version("bigram", "1.0").example_request == {"json": {"start_word": "the", "length": 30, "seed": 1}}


def test_the_served_network_is_in_the_configured_layout_and_samples_at_the_served_settings():
    ebm = model_version("ebm", "1.0")
    network = ebm.network()
    weight = next(m.weight for m in network.modules() if isinstance(m, torch.nn.Conv2d))
    assert weight.is_contiguous(memory_format=torch.channels_last) and not network.training
    steps, settings = ebm.served_sampling()
    assert (steps, settings) == (1000, {"step_size": 10.0, "noise": 0.005})
    handler = {**ebm.config["handler"], "defaults": {**ebm.config["handler"]["defaults"], "steps": 3}}
    few = ModelVersion("ebm", "1.0", {**ebm.config, "handler": handler}, ebm.manifest_path)
    assert torch.equal(few.sample(network, Seeds.one(2, 0)),
                       sample_from_noise(network, Seeds.one(2, 0), 3, step_size=10.0, noise=0.005))


def test_a_model_without_weights_is_an_error_that_names_it(tmp_path):
    (tmp_path / "archive" / "toy").mkdir(parents=True)
    (tmp_path / "archive" / "toy" / "model-config.yaml").write_text("handler: {torch_threads: 1}\n")
    (tmp_path / "weights").mkdir()
    with pytest.raises(FileNotFoundError, match="toy-v<version>.json"):
        catalog(tmp_path / "weights", tmp_path)
    (tmp_path / "weights" / "toy-v1.0.json").write_text(json.dumps({"model": "toy", "version": "1.0"}))
    [toy] = catalog(tmp_path / "weights", tmp_path)
    assert toy.default and toy.archive_name == "toy" and toy.defaults == {} and not toy.is_iterative
    (tmp_path / "weights" / "toy-v2.0.json").write_text(json.dumps({"model": "toy", "version": "2.1"}))
    with pytest.raises(ValueError, match="must be named toy-v2.1.json"):
        catalog(tmp_path / "weights", tmp_path)


def test_the_model_config_may_name_an_older_default(tmp_path):
    (tmp_path / "archive" / "toy").mkdir(parents=True)
    (tmp_path / "weights").mkdir()
    for version in ("1.0", "2.0", "2.1"):
        (tmp_path / "weights" / f"toy-v{version}.json").write_text(json.dumps({"model": "toy", "version": version}))
    config = tmp_path / "archive" / "toy" / "model-config.yaml"
    config.write_text("default_version: 2.0\nhandler: {torch_threads: 1}\n")
    assert [(e.version, e.default, e.archive_name) for e in catalog(tmp_path / "weights", tmp_path)] == [
        ("2.0", True, "toy"), ("2.1", False, "toy_v2.1"), ("1.0", False, "toy_v1.0")]
    (tmp_path / "weights" / "toy-v2.0.json").unlink()  # a folder with some versions only, as a training's --out
    assert [(e.version, e.default) for e in catalog(tmp_path / "weights", tmp_path)] == [("2.1", True), ("1.0", False)]
