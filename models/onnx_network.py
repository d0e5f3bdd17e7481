"""A noise-predicting network (models/unet.py) run by ONNX Runtime on the CPU, called as the network is.

On a CPU, ONNX Runtime runs diffusion 2.0's UNet faster than eager PyTorch does (`make bench`,
the backends table), so a version whose model-config says `backend: onnxruntime` is served through
it on CPU workers (models/catalog.py); on a GPU, or where the model-config says nothing, PyTorch
serves it. The graph is exported from the committed weights (torch.onnx's TorchScript exporter:
nothing is downloaded), by `make archive` or on first use, into a file beside the weights manifest,
and records the sha256 of the weights it came from: a graph of other weights is exported again.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

WEIGHTS_SHA256 = "weights_sha256"  # the graph's metadata entry naming the weights it was exported from


def export_graph(network: nn.Module, weights_sha256: str, path: Path) -> None:
    """Write `network`'s (images, noise variance[, labels]) -> noise graph, any batch size, to `path`."""
    import onnx

    images, variance = torch.zeros(2, 3, 32, 32), torch.full((2,), 0.5)
    inputs, names = (images, variance), ["images", "noise_variance"]
    if network.num_classes:
        inputs, names = (*inputs, torch.zeros(2, dtype=torch.long)), [*names, "labels"]
    axes = {name: {0: "batch"} for name in [*names, "noise"]}
    staged = path.with_name(path.name + ".part")
    with warnings.catch_warnings():
        # The TorchScript exporter is deprecated (the torch.export one needs onnxscript, not installed),
        # and tracing warns of group_norm's batch-size check, a constant in the graph: the batch axis
        # stays dynamic (tests/models/test_onnx_network.py runs other batch sizes).
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(network.to(memory_format=torch.contiguous_format), inputs, str(staged),
                          input_names=names, output_names=["noise"], dynamic_axes=axes, opset_version=17,
                          dynamo=False)
    graph = onnx.load(str(staged))
    onnx.helper.set_model_props(graph, {WEIGHTS_SHA256: weights_sha256})
    onnx.save(graph, str(staged))
    staged.replace(path)


def graph_weights(path: Path) -> str | None:
    """The sha256 of the weights the graph at `path` was exported from (None: no graph there)."""
    if not path.exists():
        return None
    import onnx

    return {prop.key: prop.value for prop in onnx.load(str(path), load_external_data=False).metadata_props}.get(
        WEIGHTS_SHA256)


class OnnxRuntimeNetwork(nn.Module):
    """`network` as ONNX Runtime runs its exported graph at `path` on `threads` CPU threads: the same
    call, (noisy images (N, 3, H, W), noise variances (N,), labels (N,) or None) -> noise. It keeps
    the network as a submodule, so that its weights (`state_dict`, `parameters`) and `num_classes`
    are there to ask for; they are not what computes."""

    def __init__(self, network: nn.Module, path: Path, threads: int) -> None:
        super().__init__()
        import onnxruntime

        self.network = network
        self.num_classes = network.num_classes
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def forward(self, noisy_images: torch.Tensor, noise_variance: torch.Tensor,
                labels: torch.Tensor | None = None) -> torch.Tensor:
        feeds = {"images": noisy_images.float().contiguous().numpy(),
                 "noise_variance": noise_variance.float().contiguous().numpy()}
        if self.num_classes:
            if labels is None:
                labels = torch.full((len(noisy_images),), self.num_classes)
            feeds["labels"] = labels.long().contiguous().numpy()
        elif labels is not None:
            raise ValueError("the network is unconditional: it takes no labels")
        return torch.from_numpy(np.asarray(self.session.run(None, feeds)[0]))
