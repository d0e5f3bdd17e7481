"""`cifar10`: an image -> {"pred_id", "pred_label", "probs", "top_k": [{"label", "prob"}]}.

The image comes as raw bytes in any format PIL reads, as a multipart file, or as JSON with a
base64 `image`; any size, resized as in training. `top_k` comes from the JSON or a multipart form field.
"""

from pathlib import Path
from typing import Any

import torch

from handlers.image_io import decode_image, image_request, image_tensor
from handlers.request_handler import Field, JsonHandler, validate
from models.cifar10 import CLASSES, VERSIONS, preprocess
from models.manifest import verified_weights


class Cifar10Handler(JsonHandler):
    def request_fields(self, limits: dict[str, Any]) -> dict[str, Field]:
        return {"top_k": Field(int, default=3, bounds=tuple(limits["top_k"]))}

    def parse(self, request: dict[str, Any]) -> dict[str, Any]:
        data, params = image_request(request)
        params = validate(params, self.fields)
        params["image"] = image_tensor(decode_image(data, self.limits["max_pixels"]))
        return params

    def load(self, model_dir: Path) -> None:
        weights, _ = verified_weights(model_dir / f"cifar10-v{self.version}.json")
        self.model = VERSIONS[self.version]()
        self.model.load_state_dict(torch.load(weights, weights_only=True, map_location="cpu"))
        self.model.to(self.device).eval()

    def predict(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        size = self.model.input_size
        batch = torch.cat([preprocess(request["image"][None].to(self.device), size) for request in requests])
        with torch.inference_mode():
            probs = torch.softmax(self.model(batch), dim=1)
        return [self.answer(p, request["top_k"]) for p, request in zip(probs, requests)]

    def answer(self, probs: torch.Tensor, top_k: int) -> dict[str, Any]:
        best = torch.topk(probs, top_k)
        pred_id = int(best.indices[0])
        return {"pred_id": pred_id, "pred_label": CLASSES[pred_id], "probs": probs.tolist(),
                "top_k": [{"label": CLASSES[i], "prob": float(p)} for p, i in zip(best.values, best.indices)]}
