import numpy as np
import pytest

from models.bigram import (
    UNKNOWN,
    AddOneBigramLM,
    BigramCounts,
    KneserNeyBigramLM,
    _pick,
    detokenize,
    perplexity,
    tokenize,
)

TEXT = ("The cat sat on the mat. The dog sat on the log. The cat saw the dog, and the dog saw "
        "the cat. A bird sat on the cat! The mat was red; the log was brown. ") * 3 + "Zebras dance."


@pytest.fixture(scope="module")
def lm() -> KneserNeyBigramLM:
    return KneserNeyBigramLM(BigramCounts.from_tokens(tokenize(TEXT)))


def test_tokenize_and_detokenize():
    assert tokenize("The Count’s ship, arrived!") == ["the", "count's", "ship", ",", "arrived", "!"]
    assert detokenize(["the", "count", ",", "and", "the", "ship", "."]) == "the count, and the ship."


def test_rare_words_become_unknown():
    counts = BigramCounts.from_tokens(["a", "b", "a", "b", "c"], min_count=2)
    assert counts.vocab == [UNKNOWN, "a", "b"]
    assert counts.ids(["a", "c", "zebra"]).tolist() == [1, 0, 0]


def test_counts_are_the_bigram_counts(lm):
    counts = lm.counts
    the, cat, dog = counts.index["the"], counts.index["cat"], counts.index["dog"]
    assert counts.pair_counts(np.array([the, the, cat]), np.array([cat, dog, the])).tolist() == [12, 9, 0]
    assert counts.context_totals[the] == tokenize(TEXT).count("the")


def test_every_next_word_distribution_sums_to_one(lm):
    for context in range(len(lm.vocab)):
        probs = lm.next_word_probs(context)
        assert probs.min() > 0
        assert probs.sum() == pytest.approx(1.0)


def test_dense_and_pairwise_probabilities_agree(lm):
    size = len(lm.vocab)
    prev, nxt = np.repeat(np.arange(size), size), np.tile(np.arange(size), size)
    dense = np.stack([lm.next_word_probs(c) for c in range(size)])
    np.testing.assert_allclose(lm.probability(prev, nxt).reshape(size, size), dense)


def test_kneser_ney_beats_add_one_on_held_out_text(lm):
    held_out = tokenize("The dog sat on the mat. The cat saw the log.")
    assert perplexity(lm, held_out) < perplexity(AddOneBigramLM(lm.counts), held_out)


def test_same_seed_same_text_and_different_seed_differs(lm):
    def text(seed):
        return lm.generate("the", 30, np.random.default_rng(seed))[0]

    assert text(1) == text(1)
    assert len({text(seed) for seed in range(5)}) > 1


def test_length_counts_the_start_word(lm):
    text, known = lm.generate("the", 7, np.random.default_rng(0), strategy="greedy")
    assert known and len(tokenize(text)) == 7 and text.startswith("the ")
    assert lm.generate("the", 1, np.random.default_rng(0))[0] == "the"


class EvenlySpaced:
    """A stand-in for a random generator whose `random()` walks the unit interval in `n` even steps,
    so that the share of draws that picks a word is its probability to within 1/n."""

    def __init__(self, n: int) -> None:
        self.n, self.drawn = n, 0

    def random(self) -> float:
        self.drawn += 1
        return (self.drawn - 0.5) / self.n


@pytest.mark.parametrize("contexts", ["of the text", "with one never seen"])
def test_sampling_draws_each_word_by_its_probability_without_unknown(lm, contexts):
    if contexts != "of the text":  # "end" is never followed by a word: its next word is drawn by P_cont alone
        lm = KneserNeyBigramLM(BigramCounts.from_tokens(tokenize(TEXT + " the end"), min_count=1))
        assert lm.counts.context_totals[lm.counts.index["end"]] == 0
    n = 2_000
    for context in range(len(lm.vocab)):
        expected = lm.next_word_probs(context)
        expected[0] = 0.0  # <unk> is never generated
        expected /= expected.sum()
        walk = EvenlySpaced(n)
        drawn = np.bincount([lm.sample_next_word(context, walk) for _ in range(n)], minlength=len(lm.vocab))
        np.testing.assert_allclose(drawn / n, expected, atol=2 / n)


def test_reshaped_sampling_draws_each_word_by_its_reshaped_probability(lm):
    the = lm.counts.index["the"]
    probs = lm.next_word_probs(the)
    probs[0] = 0.0
    expected = np.where(probs >= np.sort(probs)[-3], probs, 0.0) ** 2  # the top 3 (and ties), at T = 0.5
    expected /= expected.sum()
    n = 2_000
    walk = EvenlySpaced(n)
    drawn = [lm.counts.index[tokenize(lm.generate("the", 2, walk, temperature=0.5, top_k=3)[0])[1]] for _ in range(n)]
    np.testing.assert_allclose(np.bincount(drawn, minlength=len(lm.vocab)) / n, expected, atol=2 / n)


def test_a_pick_at_an_interval_s_end_falls_in_the_next_of_nonzero_width():
    assert _pick(np.array([0.2, 0.5, 0.5, 0.9]), 0.5) == 3
    assert _pick(np.array([0.0, 0.3]), 0.0) == 1
    assert _pick(np.array([0.2, 0.5, 0.5]), 0.5) == 1  # rounding put u at the end: the last nonzero width


def test_greedy_follows_the_most_likely_word(lm):
    text, _ = lm.generate("the", 2, np.random.default_rng(0), strategy="greedy")
    probs = lm.next_word_probs(lm.counts.index["the"])
    assert tokenize(text)[1] == lm.vocab[int(np.argmax(probs))]


def test_top_k_one_and_tiny_temperature_are_greedy(lm):
    greedy = lm.generate("the", 15, np.random.default_rng(0), strategy="greedy")[0]
    assert lm.generate("the", 15, np.random.default_rng(7), top_k=1)[0] == greedy
    assert lm.generate("the", 15, np.random.default_rng(7), temperature=0.01)[0] == greedy


def test_unknown_start_word_still_generates(lm):
    text, known = lm.generate("Zanzibar", 10, np.random.default_rng(0))
    assert not known
    assert tokenize(text)[0] == "zanzibar" and len(tokenize(text)) == 10
    assert UNKNOWN not in text


def test_save_and_load_round_trip(lm, tmp_path):
    lm.save(tmp_path / "lm.pt")
    loaded = KneserNeyBigramLM.load(tmp_path / "lm.pt")
    assert loaded.vocab == lm.vocab and loaded.discount == lm.discount
    np.testing.assert_array_equal(loaded.next_word_probs(3), lm.next_word_probs(3))
