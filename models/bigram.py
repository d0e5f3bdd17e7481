"""Bigram language model with interpolated Kneser-Ney smoothing, plus an add-one baseline.

Text becomes lowercase word and punctuation tokens. Words seen fewer than `min_count` times in
training become `<unk>`, so held-out text always has a probability. Bigram counts are stored
sparsely (CSR: the successors of word i are `next_ids[context_start[i]:context_start[i + 1]]`).
Sampling as trained (temperature 1, no top-k) draws from the two parts of the formula below
directly, touching only the context's successors; greedy decoding and a reshaped distribution
build the next-word distribution densely over the vocabulary.

Interpolated Kneser-Ney (Chen & Goodman, 1998) for a bigram:

    P(w | v) = max(c(v, w) - D, 0) / c(v)  +  D * N1+(v .) / c(v) * P_cont(w)
    P_cont(w) = N1+(. w) / N1+(. .)

where N1+(v .) counts the distinct successors of v and N1+(. w) the distinct predecessors of w.
A context never seen in training falls back to P_cont.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
import torch

UNKNOWN = "<unk>"
UNKNOWN_ID = 0
PUNCTUATION = frozenset(".,;:!?")
TOKEN_PATTERN = re.compile(r"[a-z]+(?:'[a-z]+)*|[.,;:!?]")
STRATEGIES = ("sample", "greedy")


def tokenize(text: str) -> list[str]:
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    return TOKEN_PATTERN.findall(text)


def detokenize(tokens: list[str]) -> str:
    text = ""
    for token in tokens:
        if text and token not in PUNCTUATION:
            text += " "
        text += token
    return text


class BigramCounts:
    """Vocabulary and sparse bigram counts of a token stream."""

    def __init__(self, vocab: list[str], context_start: np.ndarray, next_ids: np.ndarray,
                 counts: np.ndarray) -> None:
        self.vocab = vocab
        self.index = {word: i for i, word in enumerate(vocab)}
        self.context_start = context_start
        self.next_ids = next_ids
        self.counts = counts
        size = len(vocab)
        self.prev_ids = np.repeat(np.arange(size), np.diff(context_start))
        self.pair_keys = self.prev_ids * size + next_ids  # sorted, for count lookups
        self.context_totals = np.bincount(self.prev_ids, weights=counts, minlength=size)

    @classmethod
    def from_tokens(cls, tokens: list[str], min_count: int = 2) -> BigramCounts:
        word_counts = Counter(tokens)
        vocab = [UNKNOWN] + sorted(w for w, c in word_counts.items() if c >= min_count)
        size = len(vocab)
        index = {word: i for i, word in enumerate(vocab)}
        ids = np.array([index.get(t, UNKNOWN_ID) for t in tokens], dtype=np.int64)
        pair_keys, counts = np.unique(ids[:-1] * size + ids[1:], return_counts=True)
        prev_ids, next_ids = np.divmod(pair_keys, size)
        context_start = np.searchsorted(prev_ids, np.arange(size + 1))
        return cls(vocab, context_start, next_ids, counts.astype(np.int64))

    def ids(self, tokens: list[str]) -> np.ndarray:
        return np.array([self.index.get(t, UNKNOWN_ID) for t in tokens], dtype=np.int64)

    def pair_counts(self, prev_ids: np.ndarray, next_ids: np.ndarray) -> np.ndarray:
        keys = prev_ids * len(self.vocab) + next_ids
        position = np.minimum(np.searchsorted(self.pair_keys, keys), len(self.pair_keys) - 1)
        found = self.pair_keys[position] == keys
        return np.where(found, self.counts[position], 0)


class AddOneBigramLM:
    """Laplace smoothing: the baseline the held-out perplexity is compared with."""

    def __init__(self, counts: BigramCounts) -> None:
        self.counts = counts

    def probability(self, prev_ids: np.ndarray, next_ids: np.ndarray) -> np.ndarray:
        pair = self.counts.pair_counts(prev_ids, next_ids)
        total = self.counts.context_totals[prev_ids]
        return (pair + 1) / (total + len(self.counts.vocab))


class KneserNeyBigramLM:
    def __init__(self, counts: BigramCounts, discount: float | None = None) -> None:
        self.counts = counts
        if discount is None:
            # Ney's estimate from the number of bigrams seen once (n1) and twice (n2); text too
            # small to have both gets the usual 0.75.
            n1 = np.count_nonzero(counts.counts == 1)
            n2 = np.count_nonzero(counts.counts == 2)
            discount = n1 / (n1 + 2 * n2) if n1 and n2 else 0.75
        self.discount = float(discount)
        size = len(counts.vocab)
        self.successor_types = np.bincount(counts.prev_ids, minlength=size)
        predecessor_types = np.bincount(counts.next_ids, minlength=size)
        self.p_continuation = predecessor_types / predecessor_types.sum()
        # P_cont without <unk>, which is never generated, summed: a draw from it is one binary search.
        known_continuation = self.p_continuation.copy()
        known_continuation[UNKNOWN_ID] = 0.0
        self.known_continuation_cumulative = np.cumsum(known_continuation)

    @property
    def vocab(self) -> list[str]:
        return self.counts.vocab

    def _backoff_weight(self, context_ids: np.ndarray) -> np.ndarray:
        total = self.counts.context_totals[context_ids]
        safe_total = np.maximum(total, 1)
        return np.where(total > 0, self.discount * self.successor_types[context_ids] / safe_total, 1.0)

    def probability(self, prev_ids: np.ndarray, next_ids: np.ndarray) -> np.ndarray:
        total = np.maximum(self.counts.context_totals[prev_ids], 1)
        pair = self.counts.pair_counts(prev_ids, next_ids)
        discounted = np.maximum(pair - self.discount, 0) / total
        return discounted + self._backoff_weight(prev_ids) * self.p_continuation[next_ids]

    def next_word_probs(self, context_id: int) -> np.ndarray:
        probs = self._backoff_weight(np.array([context_id]))[0] * self.p_continuation
        total = self.counts.context_totals[context_id]
        start, end = self.counts.context_start[context_id], self.counts.context_start[context_id + 1]
        if total > 0:
            probs[self.counts.next_ids[start:end]] += (
                np.maximum(self.counts.counts[start:end] - self.discount, 0) / total
            )
        return probs

    def sample_next_word(self, context_id: int, rng: np.random.Generator) -> int:
        """A word drawn from P(. | context) without <unk>, as the mixture the formula is: either one
        of the words seen after the context, by its discounted count, or, with the backoff weight,
        a word by P_cont. The same distribution as `next_word_probs` gives, without its passes over
        the whole vocabulary."""
        start, end = self.counts.context_start[context_id], self.counts.context_start[context_id + 1]
        successors = self.counts.next_ids[start:end]
        total = self.counts.context_totals[context_id]
        backoff = self._backoff_weight(np.array([context_id]))[0]
        seen = np.cumsum(np.where(successors == UNKNOWN_ID, 0.0,
                                  np.maximum(self.counts.counts[start:end] - self.discount, 0) / total))
        seen_mass = seen[-1] if len(seen) else 0.0
        unseen_mass = backoff * self.known_continuation_cumulative[-1]
        u = rng.random() * (seen_mass + unseen_mass)
        if u < seen_mass or unseen_mass == 0:
            return int(successors[_pick(seen, u)])
        return _pick(self.known_continuation_cumulative, (u - seen_mass) / backoff)

    def generate(self, start_word: str, length: int, rng: np.random.Generator,
                 strategy: str = "sample", temperature: float = 1.0,
                 top_k: int | None = None) -> tuple[str, bool]:
        """Text of `length` tokens that starts with `start_word`; also whether it was known.

        An unknown start word continues as `<unk>` does (the words too rare to keep).
        `<unk>` is never generated.
        """
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}")
        start_tokens = tokenize(start_word)
        context = self.counts.index.get(start_tokens[-1], UNKNOWN_ID) if start_tokens else UNKNOWN_ID
        known = context != UNKNOWN_ID
        tokens = [start_word]
        reshaped = temperature != 1.0 or top_k is not None
        for _ in range(length - 1):
            if strategy == "sample" and not reshaped:
                context = self.sample_next_word(context, rng)
            else:
                probs = self.next_word_probs(context)
                probs[UNKNOWN_ID] = 0.0
                if strategy == "greedy":
                    context = int(np.argmax(probs))
                else:
                    cumulative = np.cumsum(_reshape(probs, temperature, top_k))
                    context = _pick(cumulative, rng.random() * cumulative[-1])
            tokens.append(self.vocab[context])
        return detokenize(tokens), known

    def save(self, path: Path) -> None:
        torch.save({
            "vocab": self.vocab,
            "context_start": torch.from_numpy(self.counts.context_start),
            "next_ids": torch.from_numpy(self.counts.next_ids),
            "counts": torch.from_numpy(self.counts.counts),
            "discount": self.discount,
        }, path)

    @classmethod
    def load(cls, path: Path) -> KneserNeyBigramLM:
        state = torch.load(path, weights_only=True)
        counts = BigramCounts(state["vocab"], state["context_start"].numpy(),
                              state["next_ids"].numpy(), state["counts"].numpy())
        return cls(counts, discount=state["discount"])


def _pick(cumulative: np.ndarray, u: float) -> int:
    """The index whose interval of a cumulative sum holds u, 0 <= u < cumulative[-1], so that index i
    is picked with probability (cumulative[i] - cumulative[i - 1]) / cumulative[-1] for a uniform u.
    A u that rounding put at the end falls in the last interval of nonzero width."""
    index = int(np.searchsorted(cumulative, u, side="right"))
    if index == len(cumulative):
        index = int(np.searchsorted(cumulative, cumulative[-1], side="left"))
    return index


def _reshape(probs: np.ndarray, temperature: float, top_k: int | None) -> np.ndarray:
    """Apply top-k truncation and temperature (in log space, so small temperatures stay finite)."""
    if top_k is not None and top_k < np.count_nonzero(probs):
        cutoff = np.partition(probs, -top_k)[-top_k]
        probs = np.where(probs >= cutoff, probs, 0.0)
    with np.errstate(divide="ignore"):
        logits = np.log(probs) / temperature
    logits -= logits.max()
    weights = np.exp(logits)
    return weights / weights.sum()


def perplexity(lm: KneserNeyBigramLM | AddOneBigramLM, tokens: list[str]) -> float:
    ids = lm.counts.ids(tokens)
    probs = lm.probability(ids[:-1], ids[1:])
    return float(np.exp(-np.mean(np.log(probs))))
