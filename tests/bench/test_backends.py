"""The backends `make bench` compares (bench/backends.py) answer what eager PyTorch answers, on a
small class-conditional UNet exported as a CPU worker's graph is (models/onnx_network.py)."""

import torch

from bench.backends import BACKENDS
from models.onnx_network import export_graph
from tests.helpers import tiny_conditional_unet


def test_every_backend_predicts_the_noise_eager_pytorch_predicts(tmp_path):
    network = tiny_conditional_unet()
    images, variance = torch.randn(3, 3, 32, 32), torch.tensor([0.1, 0.5, 0.9])
    path = tmp_path / "unet.onnx"
    export_graph(network, "0" * 64, path)  # exported at one batch size, run at another
    with torch.no_grad():
        expected = network(images, variance)
    assert expected.abs().max() > 0.01
    for backend, make in BACKENDS.items():
        for threads in (1, 2):
            answer = make(network, path, threads)(images, variance)
            assert answer.shape == expected.shape and (answer - expected).abs().max() < 1e-4, (backend, threads)
