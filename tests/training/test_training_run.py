"""TrainingRun: epochs, --hours, checkpoints and the runs a manifest lists, without training anything."""

from argparse import Namespace

import pytest
import torch

import training.run
from training.run import TrainingRun, save_checkpoint


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


def arguments(epochs=5, hours=None, resume=True):
    return Namespace(epochs=epochs, hours=hours, resume=resume, device="cpu")


def train(run, clock, seconds_per_epoch):
    for epoch in run.epochs():
        clock.now += seconds_per_epoch
        run.end_epoch({"loss": 1.0 / (epoch + 1)})


def test_hours_end_a_run_after_the_epoch_that_reaches_them_and_resume_continues(tmp_path, clock):
    path = tmp_path / "model.pt"
    model = torch.nn.Linear(2, 1)
    first = TrainingRun(arguments(hours=1.0), path, {"model": model}, curves=["loss"])
    train(first, clock, seconds_per_epoch=1500)  # the 3rd epoch ends past the hour
    assert first.epoch == 3 and first.seconds == 4500

    second = TrainingRun(arguments(), path, {"model": torch.nn.Linear(2, 1)}, curves=["loss"])
    assert second.epoch == 3 and second.history["loss"] == [1.0, 0.5, pytest.approx(1 / 3)]
    train(second, clock, seconds_per_epoch=100)
    assert second.epoch == 5 and second.seconds == 4700
    assert second.runs() == [{"device": "cpu", "first_epoch": 1, "seconds": 4500, "last_epoch": 3},
                             {"device": "cpu", "first_epoch": 4, "seconds": 200, "last_epoch": 5}]
    third = TrainingRun(arguments(), path, {"model": model}, curves=["loss"])
    train(third, clock, seconds_per_epoch=100)  # nothing left to train: no run of 0 epochs listed
    assert third.epoch == 5 and len(third.runs()) == 2


def test_a_checkpoint_from_before_runs_were_recorded_keeps_its_epochs_in_the_runs(tmp_path, clock):
    path = tmp_path / "model.pt"
    save_checkpoint(path, {"model": torch.nn.Linear(2, 1)},
                    {"epoch": 2, "seconds": 50.0, "history": {"loss": [1.0, 0.5]}})
    run = TrainingRun(arguments(epochs=3), path, {"model": torch.nn.Linear(2, 1)}, curves=["loss"])
    train(run, clock, seconds_per_epoch=10)
    assert run.runs() == [{"device": "not recorded", "first_epoch": 1, "seconds": 50, "last_epoch": 2},
                          {"device": "cpu", "first_epoch": 3, "seconds": 10, "last_epoch": 3}]


def test_resuming_with_other_curves_fails_before_training(tmp_path, clock):
    path = tmp_path / "model.pt"
    train(TrainingRun(arguments(epochs=1), path, {"model": torch.nn.Linear(2, 1)}, curves=["loss"]), clock, 1)
    with pytest.raises(ValueError, match="curves"):
        TrainingRun(arguments(epochs=2), path, {"model": torch.nn.Linear(2, 1)}, curves=["loss", "accuracy"])


def test_hours_must_be_positive():
    parser = training.run.training_arguments("test", epochs=1)
    with pytest.raises(SystemExit):
        parser.parse_args(["--hours", "0"])
    assert parser.parse_args(["--hours", "0.5"]).hours == 0.5
