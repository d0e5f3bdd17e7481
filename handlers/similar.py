"""`similar`: {"word": "king", "top_k": 5} -> {"word", "top_k", "results": [{"token", "score"}]}."""

from typing import Any

from handlers.request_handler import Field, JsonHandler, RequestError
from models.word_vectors import SimilarWords, WordVectors, load_pipeline


class SimilarHandler(JsonHandler):
    def request_fields(self) -> dict[str, Field]:
        return {"word": Field(str, required=True, max_length=self.limits["text_chars"]),
                "top_k": self.field(int, "top_k")}

    def load(self) -> None:
        self.similar_words = SimilarWords(WordVectors(load_pipeline(self.model_version.weights_file())))

    def predict(self, requests: list[dict[str, Any]]) -> list[dict[str, Any] | RequestError]:
        # One matrix product for the whole batch, at the largest top_k asked for.
        k = max(request["top_k"] for request in requests)
        found = self.similar_words.most_similar([request["word"] for request in requests], k)
        return [self.answer(**request, found=results) for request, results in zip(requests, found)]

    def answer(self, word: str, top_k: int, found: list[tuple[str, float]] | None) -> dict[str, Any] | RequestError:
        if found is None:
            return RequestError(f"{word!r} has no word vector, so it has no neighbours",
                                "word", "a word or phrase with a vector", status=422)
        return {"word": word, "top_k": top_k, "results": [{"token": t, "score": s} for t, s in found[:top_k]]}
