"""TrainingRun: epochs, --hours, checkpoints and the runs a manifest lists, without training anything."""

import os
import sys
from argparse import Namespace

import pytest
import torch

import training.run
from models.cpu import cpu_name
from models.manifest import read_manifest, sha256_of
from models.precision import native_bf16
from training.run import TrainingRun, command_line, device_description, save_checkpoint


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(training.run.time, "time", clock)
    return clock


def arguments(tmp_path, epochs=5, hours=None, resume=True):
    return Namespace(epochs=epochs, hours=hours, resume=resume, device="cpu", seed=0, out=tmp_path / "out",
                     checkpoint_dir=tmp_path)


CPU = device_description("cpu")


def training_run(args, model, curves=("loss",), bf16=False):
    return TrainingRun(args, "model", "1.0", "python -m training.model", {"model": model}, curves=list(curves),
                       bf16=bf16)


def train(run, clock, seconds_per_epoch):
    for epoch in run.epochs():
        clock.now += seconds_per_epoch
        run.end_epoch({"loss": 1.0 / (epoch + 1)})


def test_hours_end_a_run_after_the_epoch_that_reaches_them_and_resume_continues(tmp_path, clock):
    model = torch.nn.Linear(2, 1)
    first = training_run(arguments(tmp_path, hours=1.0), model)
    train(first, clock, seconds_per_epoch=1500)  # the 3rd epoch ends past the hour
    assert first.epoch == 3 and first.seconds == 4500

    second = training_run(arguments(tmp_path), torch.nn.Linear(2, 1))
    assert second.epoch == 3 and second.history["loss"] == [1.0, 0.5, pytest.approx(1 / 3)]
    train(second, clock, seconds_per_epoch=100)
    assert second.epoch == 5 and second.seconds == 4700
    assert second.runs() == [{"device": CPU, "first_epoch": 1, "seconds": 4500, "last_epoch": 3},
                             {"device": CPU, "first_epoch": 4, "seconds": 200, "last_epoch": 5}]
    third = training_run(arguments(tmp_path), model)
    train(third, clock, seconds_per_epoch=100)  # nothing left to train: no run of 0 epochs listed
    assert third.epoch == 5 and len(third.runs()) == 2


def test_a_checkpoint_from_before_runs_were_recorded_keeps_its_epochs_in_the_runs(tmp_path, clock):
    save_checkpoint(tmp_path / "model-v1.0.pt", {"model": torch.nn.Linear(2, 1)},
                    {"epoch": 2, "seconds": 50.0, "history": {"loss": [1.0, 0.5]}})
    run = training_run(arguments(tmp_path, epochs=3), torch.nn.Linear(2, 1))
    train(run, clock, seconds_per_epoch=10)
    assert run.runs() == [{"device": "not recorded", "first_epoch": 1, "seconds": 50, "last_epoch": 2},
                          {"device": CPU, "first_epoch": 3, "seconds": 10, "last_epoch": 3}]


def test_the_manifest_names_each_runs_device_and_precision(tmp_path, clock):
    train(training_run(arguments(tmp_path, epochs=1), torch.nn.Linear(2, 1)), clock, 10)
    model = torch.nn.Linear(2, 1)
    resumed = training_run(arguments(tmp_path, epochs=3), model, bf16=True)  # on a machine with native bf16
    train(resumed, clock, 10)
    resumed.save(model, title="a model", manifest={"training": {}}, metrics={})
    manifest = read_manifest(tmp_path / "out" / "model-v1.0.json")
    bf16 = device_description("cpu", bf16=True)
    assert [run["device"] for run in manifest["training"]["runs"]] == [CPU, bf16]
    assert manifest["device"] == f"{CPU} + {bf16}"


def test_resuming_with_other_curves_fails_before_training(tmp_path, clock):
    train(training_run(arguments(tmp_path, epochs=1), torch.nn.Linear(2, 1)), clock, 1)
    with pytest.raises(ValueError, match="curves"):
        training_run(arguments(tmp_path, epochs=2), torch.nn.Linear(2, 1), curves=["loss", "accuracy"])


def test_hours_must_be_positive():
    parser = training.run.training_arguments("test", epochs=1)
    with pytest.raises(SystemExit):
        parser.parse_args(["--hours", "0"])
    assert parser.parse_args(["--hours", "0.5"]).hours == 0.5


def test_batches_are_one_shuffle_of_the_data_in_full_batches(tmp_path):
    run = training_run(arguments(tmp_path), torch.nn.Linear(2, 1))
    generator, expected = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    batches = list(run.batches(10, 3, generator))
    order = torch.randperm(10, generator=expected)
    assert [batch.tolist() for batch in batches] == [order[0:3].tolist(), order[3:6].tolist(), order[6:9].tolist()]
    assert torch.equal(generator.get_state(), expected.get_state())  # nothing else drawn


def test_save_writes_weights_curve_and_a_manifest_with_the_run(tmp_path, clock):
    model = torch.nn.Linear(2, 1)
    run = training_run(arguments(tmp_path, epochs=2), model)
    train(run, clock, seconds_per_epoch=30)
    weights = run.save(model, title="a model", manifest={"architecture": "linear", "network": {"class": "x"},
                                                         "training": {"batch_size": 4}}, metrics={"loss": 0.5})
    assert weights == tmp_path / "out" / "model-v1.0.pt"
    assert torch.equal(torch.load(weights, weights_only=True)["weight"], model.weight)
    assert (tmp_path / "out" / "model-v1.0-curve.png").exists()
    manifest = read_manifest(tmp_path / "out" / "model-v1.0.json")
    assert list(manifest) == ["model", "version", "architecture", "network", "training", "command", "seconds",
                              "device", "metrics", "weights"]
    assert manifest["training"] == {"epochs": 2, "batch_size": 4, "seed": 0,
                                    "runs": [{"device": CPU, "first_epoch": 1, "seconds": 60, "last_epoch": 2}]}
    assert manifest["command"] == "python -m training.model" and manifest["seconds"] == 60
    assert manifest["device"] == CPU and manifest["metrics"] == {"loss": 0.5}
    assert manifest["weights"] == {"file": "model-v1.0.pt", "sha256": sha256_of(weights)}


def test_the_command_is_the_arguments_main_parsed(monkeypatch):
    assert command_line("training.x", ["--epochs", "2"]) == "python -m training.x --epochs 2"
    monkeypatch.setattr(sys, "argv", ["x.py", "--resume"])
    assert command_line("training.x", None) == "python -m training.x --resume"
    native = "native bf16" if native_bf16("cpu") else "no native bf16"
    cpu = f"cpu ({cpu_name()}, {os.cpu_count()} cores, {native}"
    assert device_description("cpu", bf16=True) == f"{cpu}, bf16 autocast)" and device_description("cpu") == f"{cpu})"


def test_points_measured_at_some_epochs_are_kept_across_runs_and_written_but_not_timed(tmp_path, clock):
    model = torch.nn.Linear(2, 1)
    run = training_run(arguments(tmp_path, epochs=4), model)
    for _ in run.epochs():
        clock.now += 10
        run.end_epoch({"loss": 1.0})
        if run.epoch == 2:
            clock.now += 1000  # a sample-quality check after the epoch: not training time
            run.add_points({"kid": 0.02})
            break  # the run stops here; the next resumes from the checkpoint
    resumed = training_run(arguments(tmp_path, epochs=4), model)
    for _ in resumed.epochs():
        clock.now += 10
        resumed.end_epoch({"loss": 1.0})
    resumed.add_points({"kid": 0.01})
    assert resumed.points == {"kid": [[2, 0.02], [4, 0.01]]} and resumed.seconds == 40
    resumed.save(model, title="a model", manifest={"training": {}}, metrics={})
    assert read_manifest(tmp_path / "out" / "model-v1.0.json")["training"]["points"] == {"kid": [[2, 0.02], [4, 0.01]]}
