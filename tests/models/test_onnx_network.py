"""The UNet through ONNX Runtime (models/onnx_network.py, models/catalog.py): the same noise as
PyTorch at any batch size, with and without classes, the same samples within a level, the same
bytes twice, and a graph that follows the weights it was exported from."""

import pytest
import torch

from models.catalog import model_version
from models.diffusion_sampler import reverse_diffusion
from models.onnx_network import OnnxRuntimeNetwork, export_graph, graph_weights
from models.seeds import Seeds
from models.unet import UNet
from tests.helpers import TINY_CONDITIONAL_UNET_ARGS, TINY_UNET_ARGS, save_weights, tiny_conditional_unet, tiny_unet


@pytest.fixture(params=["conditional", "unconditional"])
def network(request):
    return tiny_conditional_unet() if request.param == "conditional" else tiny_unet()


def test_onnx_runtime_predicts_the_noise_pytorch_predicts_at_any_batch_size(network, tmp_path):
    export_graph(network, "a" * 64, tmp_path / "unet.onnx")
    assert graph_weights(tmp_path / "unet.onnx") == "a" * 64
    labels = [None, torch.tensor([3, 0, 10, 9, 1])] if network.num_classes else [None]
    for threads in (1, 2):
        runtime = OnnxRuntimeNetwork(network, tmp_path / "unet.onnx", threads)
        images, variance = torch.randn(5, 3, 32, 32), torch.rand(5)
        for classes in labels:
            with torch.inference_mode():
                expected, answer = network(images, variance, classes), runtime(images, variance, classes)
            assert expected.abs().max() > 0.01
            assert (answer - expected).abs().max() < 1e-4, (threads, classes)


def test_an_unconditional_graph_takes_no_labels(tmp_path):
    export_graph(tiny_unet(), "a" * 64, tmp_path / "unet.onnx")
    with pytest.raises(ValueError, match="unconditional"):
        OnnxRuntimeNetwork(tiny_unet(), tmp_path / "unet.onnx", 1)(torch.zeros(1, 3, 32, 32), torch.ones(1),
                                                                     torch.zeros(1, dtype=torch.long))


def test_samples_through_onnx_runtime_are_pytorchs_within_a_level_and_the_same_bytes_twice(tmp_path):
    network = tiny_conditional_unet()
    export_graph(network, "a" * 64, tmp_path / "unet.onnx")
    runtime = OnnxRuntimeNetwork(network, tmp_path / "unet.onnx", 1)
    labels = torch.tensor([1, 2, 10, 4])
    draw = [reverse_diffusion(model, Seeds([(2, 5), (2, 6)]), 4, sampler="dpmpp_2m", eta=0.0, labels=labels,
                              guidance=3.0) for model in (runtime, runtime, network)]
    assert torch.equal(draw[0], draw[1])
    assert (draw[0].int() - draw[2].int()).abs().max() <= 1
    assert draw[0].float().std() > 10  # pictures, not a constant


def test_a_cpu_worker_of_a_version_whose_config_names_onnx_runtime_runs_it_and_a_gpu_one_pytorch(tmp_path):
    save_weights(tmp_path, "diffusion", "2.0", tiny_conditional_unet(), TINY_CONDITIONAL_UNET_ARGS, reverse_diffusion)
    save_weights(tmp_path, "diffusion", "1.0", tiny_unet(), TINY_UNET_ARGS, reverse_diffusion)
    second, first = model_version("diffusion", "2.0", tmp_path), model_version("diffusion", "1.0", tmp_path)
    assert (second.backend("cpu"), second.backend("cuda:0"), first.backend("cpu")) == \
        ("onnxruntime", "pytorch", "pytorch")
    assert isinstance(second.network("cpu"), OnnxRuntimeNetwork)
    assert isinstance(first.network("cpu"), UNet)
    assert (tmp_path / "diffusion-v2.0.onnx").exists() and not (tmp_path / "diffusion-v1.0.onnx").exists()
    eager = second.network("cpu", backend="pytorch")  # asked for: as a PyTorch worker runs it, channels-last
    conv = next(m for m in eager.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3))
    assert isinstance(eager, UNet) and conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert not conv.weight.is_contiguous()


def test_the_graph_is_exported_again_when_the_weights_change(tmp_path):
    save_weights(tmp_path, "diffusion", "2.0", tiny_conditional_unet(), TINY_CONDITIONAL_UNET_ARGS, reverse_diffusion)
    entry = model_version("diffusion", "2.0", tmp_path)
    graph = entry.exported_graph()
    assert graph_weights(graph) == entry.manifest["weights"]["sha256"]
    exported = graph.stat().st_mtime_ns
    assert entry.exported_graph().stat().st_mtime_ns == exported  # current: left alone
    other = UNet(**TINY_CONDITIONAL_UNET_ARGS).eval()
    save_weights(tmp_path, "diffusion", "2.0", other, TINY_CONDITIONAL_UNET_ARGS, reverse_diffusion)
    before = graph_weights(graph)
    entry = model_version("diffusion", "2.0", tmp_path)
    assert graph_weights(entry.exported_graph()) == entry.manifest["weights"]["sha256"] != before
    images, variance = torch.randn(2, 3, 32, 32), torch.rand(2)
    with torch.inference_mode():
        assert (entry.network("cpu")(images, variance) - other(images, variance)).abs().max() < 1e-4


def test_a_backend_the_project_does_not_know_is_refused(tmp_path):
    save_weights(tmp_path, "diffusion", "2.0", tiny_conditional_unet(), TINY_CONDITIONAL_UNET_ARGS, reverse_diffusion)
    entry = model_version("diffusion", "2.0", tmp_path)
    entry.handler_config["backend"] = "tensorrt"
    with pytest.raises(ValueError, match="backend must be one of pytorch, onnxruntime"):
        entry.backend("cpu")
