"""`bigram`: {"start_word": "the", "length": 20} -> {"generated_text": "..."}."""

from pathlib import Path
from typing import Any

import numpy as np

from handlers.request_handler import Field, JsonHandler, resolve_seed, seed_field
from models.bigram import STRATEGIES, KneserNeyBigramLM
from models.manifest import verified_weights


class BigramHandler(JsonHandler):
    def request_fields(self, limits: dict[str, Any]) -> dict[str, Field]:
        return {
            "start_word": Field(str, required=True, max_length=limits["start_word_chars"]),
            "length": Field(int, default=20, bounds=tuple(limits["length"])),
            "strategy": Field(str, default="sample", choices=STRATEGIES),
            "temperature": Field(float, default=1.0, bounds=tuple(limits["temperature"])),
            "top_k": Field(int, bounds=tuple(limits["top_k"])),
            "seed": seed_field(limits),
        }

    def load(self, model_dir: Path) -> None:
        weights, _ = verified_weights(model_dir / "bigram.json")
        self.lm = KneserNeyBigramLM.load(weights)

    def predict(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [self.generate(**request) for request in requests]

    def generate(self, start_word: str, length: int, strategy: str, temperature: float,
                 top_k: int | None, seed: int | None) -> dict[str, Any]:
        seed = resolve_seed(seed)
        rng = np.random.default_rng(seed)
        text, known = self.lm.generate(start_word, length, rng, strategy, temperature, top_k)
        return {"generated_text": text, "start_word": start_word, "start_word_known": known,
                "length": length, "strategy": strategy, "seed": seed}
