"""`bigram`: {"start_word": "the", "length": 20} -> {"generated_text": "..."}."""

from typing import Any

import numpy as np

from handlers.request_handler import Field, JsonHandler, resolve_seed
from models.bigram import STRATEGIES, KneserNeyBigramLM


class BigramHandler(JsonHandler):
    def request_fields(self) -> dict[str, Field]:
        return {
            "start_word": Field(str, required=True, max_length=self.limits["start_word_chars"]),
            "length": self.field(int, "length"),
            "strategy": Field(str, default=self.defaults["strategy"], choices=STRATEGIES),
            "temperature": self.field(float, "temperature"),
            "top_k": self.field(int, "top_k"),
            "seed": self.field(int, "seed"),
        }

    def load(self) -> None:
        self.lm = KneserNeyBigramLM.load(self.model_version.weights_file())

    def answer(self, start_word: str, length: int, strategy: str, temperature: float,
               top_k: int | None, seed: int | None) -> dict[str, Any]:
        seed = resolve_seed(seed)
        rng = np.random.default_rng(seed)
        text, known = self.lm.generate(start_word, length, rng, strategy, temperature, top_k)
        return {"generated_text": text, "start_word": start_word, "start_word_known": known,
                "length": length, "strategy": strategy, "seed": seed}
