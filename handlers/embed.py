"""`embed`: {"word": "king"} -> {"word", "dim", "vector", "has_vector"}; {"words": [...]} -> one each."""

from typing import Any

from handlers.request_handler import Field, JsonHandler, RequestError
from models.word_vectors import TextVector, WordVectors, load_pipeline


class EmbedHandler(JsonHandler):
    def request_fields(self) -> dict[str, Field]:
        text = Field(str, max_length=self.limits["text_chars"])
        return {"word": text, "words": Field(list, max_length=self.limits["words"], items=text)}

    def load(self) -> None:
        self.word_vectors = WordVectors(load_pipeline(self.model_version.weights_file()))

    def answer(self, word: str | None, words: list[str] | None) -> dict[str, Any] | RequestError:
        if (word is None) == (words is None):
            return RequestError("send exactly one of 'word' (a string) or 'words' (a list)",
                                "word", "exactly one of word, words")
        if word is not None:
            return self.vector_answer(self.word_vectors.embed(word))
        return {"results": [self.vector_answer(self.word_vectors.embed(w)) for w in words]}

    def vector_answer(self, embedded: TextVector) -> dict[str, Any]:
        # A text without any known token has no vector: null, never a zero vector.
        vector = embedded.vector.tolist() if embedded.has_vector else None
        return {"word": embedded.text, "dim": self.word_vectors.dim, "vector": vector,
                "has_vector": embedded.has_vector, "tokens": embedded.tokens,
                "tokens_without_vector": embedded.tokens_without_vector}
