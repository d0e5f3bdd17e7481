"""The class accuracy of conditional samples (training/evaluate_conditional_diffusion.py), with a
classifier whose answers are known: it labels an image by its brightest channel."""

import torch

from models.cifar10 import CLASSES
from training.diffusion_conditional import cycled_labels
from training.evaluate_conditional_diffusion import class_accuracy


class BrightestChannel(torch.nn.Module):
    input_size = 32

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = torch.full((len(x), 10), -100.0)
        logits[:, :3] = x.mean(dim=(2, 3))
        return logits


def test_the_class_accuracy_is_the_share_labelled_as_asked_overall_and_per_class():
    labels = cycled_labels(20)
    assert labels.tolist() == list(range(10)) * 2
    samples = torch.zeros(20, 3, 32, 32, dtype=torch.uint8)
    samples[:, 0] = 255  # bright in channel 0: labelled 0, right only where class 0 was asked for
    samples[labels == 1, 0], samples[labels == 1, 1] = 0, 255  # asked for class 1: labelled 1
    samples[0, 0], samples[0, 2] = 0, 255  # one of the two asked for class 0: labelled 2
    accuracy = class_accuracy(BrightestChannel(), samples, labels)
    assert accuracy["per_class"]["airplane"] == 0.5 and accuracy["per_class"]["automobile"] == 1.0
    assert accuracy["per_class"]["bird"] == 0.0 and set(accuracy["per_class"]) == set(CLASSES)
    assert accuracy["overall"] == round((1 + 2) / 20, 4)
