"""`cifar10`: an image -> {"pred_id", "pred_label", "probs", "top_k": [{"label", "prob"}]}.

The image may have any size: it is resized as in training. `top_k` comes from the JSON or a
multipart form field.
"""

from typing import Any

import torch

from handlers.image_input import ImageInputHandler
from handlers.request_handler import Field
from models.cifar10 import CLASSES, preprocess


class Cifar10Handler(ImageInputHandler):
    def request_fields(self) -> dict[str, Field]:
        return {"top_k": self.field(int, "top_k")}

    def predict(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        size = self.network.input_size
        batch = torch.cat([preprocess(request["image"][None].to(self.device), size) for request in requests])
        with torch.inference_mode():
            probs = torch.softmax(self.network(batch), dim=1)
        return [self.answer(top_k=request["top_k"], probs=p) for p, request in zip(probs, requests)]

    def answer(self, top_k: int, probs: torch.Tensor) -> dict[str, Any]:
        best = torch.topk(probs, top_k)
        pred_id = int(best.indices[0])
        return {"pred_id": pred_id, "pred_label": CLASSES[pred_id], "probs": probs.tolist(),
                "top_k": [{"label": CLASSES[i], "prob": float(p)} for p, i in zip(best.values, best.indices)]}
