"""training/evaluate_distilled_diffusion.py: which version a student is compared with."""

from models.catalog import model_version
from models.diffusion_sampler import reverse_diffusion
from models.manifest import read_manifest, write_manifest
from tests.helpers import TINY_CONDITIONAL_UNET_ARGS, save_weights, tiny_conditional_unet
from training import evaluate_distilled_diffusion
from training.evaluate_distilled_diffusion import distilled_from


def test_a_student_of_a_student_is_compared_with_the_network_first_distilled(tmp_path):
    for version in ("2.0", "2.1"):
        save_weights(tmp_path, "diffusion", version, tiny_conditional_unet(), TINY_CONDITIONAL_UNET_ARGS,
                     reverse_diffusion)
    first = read_manifest(tmp_path / "diffusion-v2.0.json")["weights"]["sha256"]
    student = read_manifest(tmp_path / "diffusion-v2.1.json")
    write_manifest(tmp_path / "diffusion-v2.1.json", {**student, "training": {"steps": 2, "teacher": {
        "file": "diffusion-v2.1.json", "weights_sha256": "the 4-call student's", "sampler": "distilled",
        "teacher": {"file": "diffusion-v2.0.json", "weights_sha256": first, "sampler": "dpmpp_2m"}}}})
    assert distilled_from(model_version("diffusion", "2.1", tmp_path), tmp_path).version == "2.0"


class CountingReference:
    """Stands in for the Inception reference: a sample set's features are its images' mean colours, and
    its score says how many there were; `drawn` lists the sets drawn."""

    drawn: list[tuple[str, int]] = []
    size = 10_000

    def __init__(self, data_dir, device="cpu") -> None:
        pass

    def generated(self, name, generate):
        images = generate()
        self.drawn.append((name, len(images)))
        return images, images.float().mean((2, 3)).numpy()

    def scores(self, features):
        return {"fid": float(len(features)), "kid": 0.0, "kid_std": 0.0, "samples": len(features)}


def test_parts_measure_only_what_is_asked_and_keep_the_other_figures(tmp_path, monkeypatch):
    for version in ("2.0", "2.1"):
        save_weights(tmp_path, "diffusion", version, tiny_conditional_unet(), TINY_CONDITIONAL_UNET_ARGS,
                     reverse_diffusion)
    teacher = read_manifest(tmp_path / "diffusion-v2.0.json")
    write_manifest(tmp_path / "diffusion-v2.0.json", {**teacher, "metrics": {
        "guidance_table": {"real_vs_real": {"fid": 1.0}},
        "quality_10_steps_unconditional": {"fid": 50.0, "how": "100 samples, the teacher's"}}})
    student = read_manifest(tmp_path / "diffusion-v2.1.json")
    write_manifest(tmp_path / "diffusion-v2.1.json", {**student, "training": {"steps": 4, "teacher": {
        "file": "diffusion-v2.0.json", "weights_sha256": teacher["weights"]["sha256"], "sampler": "dpmpp_2m"}}})
    monkeypatch.setattr(evaluate_distilled_diffusion, "Cifar10Reference", CountingReference)
    common = ["--version", "2.1", "--weights-dir", str(tmp_path), "--data-dir", str(tmp_path)]
    evaluate_distilled_diffusion.main([*common, "--parts", "fid", "--fid-samples", "100"])
    assert [count for _, count in CountingReference.drawn] == [100]
    metrics = read_manifest(tmp_path / "diffusion-v2.1.json")["metrics"]
    assert set(metrics) == {"quality_4_steps_unconditional"}
    assert metrics["quality_4_steps_unconditional"]["fid_against_teacher"] == 2.0
    CountingReference.drawn.clear()
    evaluate_distilled_diffusion.main([*common, "--parts", "table", "--table-samples", "100", "--table-steps", "2"])
    assert [name.split("-")[-4] for name, _ in CountingReference.drawn] == ["2", "10"]  # its 2 calls, the teacher's 10
    metrics = read_manifest(tmp_path / "diffusion-v2.1.json")["metrics"]
    assert set(metrics) == {"quality_4_steps_unconditional", "steps_table"}
    assert list(metrics["steps_table"]) == ["how", "2.1, 2 calls", "2.0, the teacher (served), dpmpp_2m 10 calls",
                                            "real_vs_real"]
