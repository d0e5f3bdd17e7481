"""`similar`: {"word": "king", "top_k": 5} -> {"word", "top_k", "results": [{"token", "score"}]}."""

from pathlib import Path
from typing import Any

from handlers.request_handler import Field, JsonHandler, RequestError
from models.manifest import verified_weights
from models.word_vectors import SimilarWords, WordVectors, load_pipeline


class SimilarHandler(JsonHandler):
    def request_fields(self, limits: dict[str, Any]) -> dict[str, Field]:
        return {"word": Field(str, required=True, max_length=limits["text_chars"]),
                "top_k": Field(int, default=10, bounds=tuple(limits["top_k"]))}

    def load(self, model_dir: Path) -> None:
        verified_weights(model_dir / "similar.json")
        self.similar_words = SimilarWords(WordVectors(load_pipeline()))

    def predict(self, requests: list[dict[str, Any]]) -> list[dict[str, Any] | RequestError]:
        # One matrix product for the whole batch, at the largest top_k asked for.
        k = max(request["top_k"] for request in requests)
        found = self.similar_words.most_similar([request["word"] for request in requests], k)
        return [self.answer(request, results) for request, results in zip(requests, found)]

    def answer(self, request: dict[str, Any], results: list[tuple[str, float]] | None
               ) -> dict[str, Any] | RequestError:
        if results is None:
            return RequestError(f"{request['word']!r} has no word vector, so it has no neighbours",
                                "word", "a word or phrase with a vector", status=422)
        return {"word": request["word"], "top_k": request["top_k"],
                "results": [{"token": t, "score": s} for t, s in results[:request["top_k"]]]}
