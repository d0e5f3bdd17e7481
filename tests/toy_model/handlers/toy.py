"""`toy`: {"x": 1.5} -> {"x": 1.5, "y": 4.0}."""

from typing import Any

import torch

from handlers.request_handler import Field, JsonHandler


class ToyHandler(JsonHandler):
    def request_fields(self) -> dict[str, Field]:
        return {"x": self.field(float, "x", required=True)}

    def answer(self, x: float) -> dict[str, Any]:
        with torch.inference_mode():
            y = self.network(torch.tensor([[x]], device=self.device))
        return {"x": x, "y": round(y.item(), 3)}
