"""The distillation of diffusion 2.0 into a few-step student (training/distill_diffusion.py)."""

import json

import pytest
import torch
from PIL import Image

from models.diffusion_sampler import reverse_diffusion
from models.diffusion_schedule import offset_cosine_schedule
from models.distilled_scheduler import DistilledScheduler
from models.loader import load_network
from tests.helpers import (
    TINY_CONDITIONAL_UNET_ARGS,
    OneImageNoisePredictor,
    make_tiny_cifar10,
    save_weights,
    tiny_conditional_unet,
)
from training import distill_diffusion


def rates(t: float) -> tuple[float, float]:
    return tuple(r.item() for r in offset_cosine_schedule(torch.tensor(t)))


@pytest.mark.parametrize("distilled", [False, True])
@pytest.mark.parametrize("end", [0.5, 0.0])
def test_the_teacher_lands_on_the_path_of_its_noise(end, distilled):
    image, noise = torch.rand(1, 3, 32, 32) * 2 - 1, torch.randn(3, 3, 32, 32)
    signal, noise_rate = rates(0.9)
    labels = torch.tensor([0, 5, 10])
    landing = distill_diffusion.teacher_landing(OneImageNoisePredictor(image), signal * image + noise_rate * noise,
                                                0.9, end, substeps=3, labels=labels, guidance=3.0, distilled=distilled)
    signal_end, noise_end = rates(end)
    expected = image.expand(3, -1, -1, -1) if end == 0 else signal_end * image + noise_end * noise
    assert torch.allclose(landing, expected, atol=1e-4)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_the_loss_is_the_students_miss_in_units_of_the_noise_where_it_lands(index):
    image = torch.rand(1, 3, 32, 32) * 2 - 1
    oracle = OneImageNoisePredictor(image)
    grid = DistilledScheduler()
    grid.set_timesteps(3)
    args = (image.expand(4, -1, -1, -1), torch.tensor([1, 2, 3, 10]), grid, index, 2, 3.0)
    assert distill_diffusion.distillation_loss(oracle, oracle, *args, torch.Generator().manual_seed(0)) < 1e-8
    # A student that sees the image 0.1 brighter predicts clean images 0.1 off; its DDIM step then
    # misses by 0.1 (signal_end - noise_end * signal / noise), or by 0.1 on the answer of the last step.
    miss = distill_diffusion.distillation_loss(OneImageNoisePredictor(image + 0.1), oracle, *args,
                                               torch.Generator().manual_seed(0))
    signal, noise = rates(grid.timesteps[index].item())
    signal_end, noise_end = rates(grid.ends[index].item())
    expected = 0.1 * signal_end / noise_end if index == 2 else 0.1 * (signal_end / noise_end - signal / noise)
    assert miss.item() == pytest.approx(expected ** 2, rel=1e-3)


def test_distillation_trains_resumes_and_writes_a_student_for_its_own_sampler(tmp_path):
    make_tiny_cifar10(tmp_path / "data")
    save_weights(tmp_path, "diffusion", "2.0", tiny_conditional_unet(), TINY_CONDITIONAL_UNET_ARGS, reverse_diffusion)
    args = ["--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "out"), "--checkpoint-dir",
            str(tmp_path / "ckpt"), "--batch-size", "8", "--device", "cpu", "--teacher",
            str(tmp_path / "diffusion-v2.0.json"), "--steps", "2", "--substeps", "1", "--kid-every", "0",
            "--cooldown-epochs", "1"]
    distill_diffusion.main([*args, "--epochs", "1", "--cooldown-epochs", "0"])
    distill_diffusion.main([*args, "--epochs", "2", "--resume"])
    checkpoint = torch.load(tmp_path / "ckpt" / "diffusion-v2.1.pt", weights_only=False)
    assert checkpoint["progress"]["epoch"] == 2 and len(checkpoint["progress"]["runs"]) == 2
    assert checkpoint["objects"]["optimizer"]["param_groups"][0]["lr"] == 0
    manifest = json.loads((tmp_path / "out" / "diffusion-v2.1.json").read_text())
    teacher = json.loads((tmp_path / "diffusion-v2.0.json").read_text())
    assert manifest["training"]["teacher"]["weights_sha256"] == teacher["weights"]["sha256"]
    assert manifest["training"]["steps"] == 2 and manifest["network"] == teacher["network"]
    student, _ = load_network(tmp_path / "out" / "diffusion-v2.1.json")
    assert torch.equal(student.stem.weight, checkpoint["objects"]["ema"]["stem.weight"])  # the EMA is the student
    assert not torch.equal(student.stem.weight, tiny_conditional_unet().stem.weight)  # and it learnt
    assert Image.open(tmp_path / "out" / "diffusion-v2.1-samples.png").size == (8 * 34 + 2, 10 * 34 + 2)
    # The student teaches a student of half its calls, its taught guidance passed on.
    def taught_by_the_student(folder: str, steps: int) -> list[str]:
        return ["--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / folder), "--checkpoint-dir",
                str(tmp_path / folder / "ckpt"), "--batch-size", "8", "--device", "cpu", "--teacher",
                str(tmp_path / "out" / "diffusion-v2.1.json"), "--steps", str(steps), "--kid-every", "0",
                "--epochs", "1", "--cooldown-epochs", "0"]
    distill_diffusion.main(taught_by_the_student("out1", 1))
    manifest = json.loads((tmp_path / "out1" / "diffusion-v2.1.json").read_text())
    assert manifest["training"]["steps"] == 1 and manifest["training"]["teacher_substeps"] == 2
    assert manifest["training"]["teacher"]["sampler"] == "distilled" and manifest["training"]["teacher"]["steps"] == 2
    assert manifest["training"]["teacher"]["teacher"]["weights_sha256"] == teacher["weights"]["sha256"]
    assert manifest["training"]["teacher"]["guidance"] == distill_diffusion.arguments().parse_args([]).guidance
    with pytest.raises(SystemExit, match="must divide"):
        distill_diffusion.main(taught_by_the_student("out3", 3))


def test_a_student_can_start_from_another_student_as_its_own_version(tmp_path, monkeypatch):
    make_tiny_cifar10(tmp_path / "data")
    save_weights(tmp_path, "diffusion", "2.0", tiny_conditional_unet(), TINY_CONDITIONAL_UNET_ARGS, reverse_diffusion)
    other = tiny_conditional_unet()
    torch.nn.init.normal_(other.stem.weight)
    save_weights(tmp_path, "diffusion", "2.1", other, TINY_CONDITIONAL_UNET_ARGS, reverse_diffusion)
    started = []
    train = distill_diffusion.train_noise_predictor

    def recorded(args, student, *rest, **named):
        started.append(student.stem.weight.detach().clone())
        return train(args, student, *rest, **named)

    monkeypatch.setattr(distill_diffusion, "train_noise_predictor", recorded)
    distill_diffusion.main(["--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "out"), "--checkpoint-dir",
                            str(tmp_path / "ckpt"), "--batch-size", "8", "--device", "cpu", "--teacher",
                            str(tmp_path / "diffusion-v2.0.json"), "--student", str(tmp_path / "diffusion-v2.1.json"),
                            "--version", "2.2", "--steps", "3", "--substeps", "1", "--kid-every", "0",
                            "--epochs", "1", "--cooldown-epochs", "0"])
    assert torch.equal(started[0], other.stem.weight)
    manifest = json.loads((tmp_path / "out" / "diffusion-v2.2.json").read_text())
    start = json.loads((tmp_path / "diffusion-v2.1.json").read_text())
    teacher = json.loads((tmp_path / "diffusion-v2.0.json").read_text())
    assert manifest["version"] == "2.2" and manifest["training"]["steps"] == 3
    assert manifest["training"]["student_start"] == {"file": "diffusion-v2.1.json",
                                                     "weights_sha256": start["weights"]["sha256"]}
    assert manifest["training"]["teacher"]["weights_sha256"] == teacher["weights"]["sha256"]
    assert (tmp_path / "ckpt" / "diffusion-v2.2.pt").exists()
