"""The backends `make bench` compares (bench/backends.py) answer what eager PyTorch answers, on a
small UNet exported as the bench exports the served one."""

import numpy as np
import torch

from bench.backends import BACKENDS, export_onnx
from tests.helpers import tiny_unet


def test_every_backend_predicts_the_noise_eager_pytorch_predicts(tmp_path):
    network = tiny_unet().eval()
    images, variance = torch.randn(3, 3, 32, 32), torch.tensor([0.1, 0.5, 0.9])
    path = tmp_path / "unet.onnx"
    export_onnx(network, images[:2], variance[:2], path)  # exported at one batch size, run at another
    with torch.no_grad():
        expected = network(images, variance).numpy()
    assert np.abs(expected).max() > 0.01
    for backend, make in BACKENDS.items():
        for threads in (1, 2):
            answer = make(network, path, threads)(images.numpy(), variance.numpy())
            assert answer.shape == expected.shape and np.abs(answer - expected).max() < 1e-4, (backend, threads)
