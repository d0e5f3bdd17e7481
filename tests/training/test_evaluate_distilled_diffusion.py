"""training/evaluate_distilled_diffusion.py: which version a student is compared with."""

from models.catalog import model_version
from models.diffusion_sampler import reverse_diffusion
from models.manifest import read_manifest, write_manifest
from tests.helpers import TINY_CONDITIONAL_UNET_ARGS, save_weights, tiny_conditional_unet
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
