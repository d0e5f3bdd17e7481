"""The three text handlers, called as TorchServe calls them, without a server."""

import json

import numpy as np
import pytest

from handlers.bigram import BigramHandler
from handlers.embed import EmbedHandler
from handlers.similar import SimilarHandler
from models.catalog import ROOT
from tests.helpers import handle, json_request, loaded

WEIGHTS = ROOT / "weights"  # the manifests name their weights relative to themselves


def ask(handler_context, *bodies):
    handler, context = handler_context
    return [(status, json.loads(a)) for status, a in handle(handler, context, [json_request(b) for b in bodies])]


@pytest.fixture(scope="module")
def bigram():
    return loaded(BigramHandler, "bigram", WEIGHTS)


@pytest.fixture(scope="module")
def embed():
    return loaded(EmbedHandler, "embed", WEIGHTS)


@pytest.fixture(scope="module")
def similar():
    return loaded(SimilarHandler, "similar", WEIGHTS)


def test_bigram_generates_the_asked_length_and_repeats_by_seed(bigram):
    (status, first), (_, again), (_, other) = ask(
        bigram, {"start_word": "the", "length": 20, "seed": 5},
        {"start_word": "the", "length": 20, "seed": 5}, {"start_word": "the", "length": 20, "seed": 6})
    assert status == 200
    assert first["generated_text"] == again["generated_text"] != other["generated_text"]
    assert first["generated_text"].startswith("the ") and first["start_word_known"] is True
    assert first["seed"] == 5 and first["strategy"] == "sample"


def test_bigram_answer_reports_the_seed_it_drew(bigram):
    [(_, answer)] = ask(bigram, {"start_word": "the", "length": 10})
    [(_, again)] = ask(bigram, {"start_word": "the", "length": 10, "seed": answer["seed"]})
    assert again["generated_text"] == answer["generated_text"]


def test_bigram_unknown_start_word_and_strategies(bigram):
    [(status, unknown), (_, greedy), (_, greedy_again)] = ask(
        bigram, {"start_word": "Xylophonist", "length": 8},
        {"start_word": "the", "length": 8, "strategy": "greedy", "seed": 1},
        {"start_word": "the", "length": 8, "strategy": "greedy", "seed": 2})
    assert status == 200 and unknown["start_word_known"] is False
    assert unknown["generated_text"].startswith("Xylophonist")
    assert greedy["generated_text"] == greedy_again["generated_text"]


@pytest.mark.parametrize("body, field", [
    ({"start_word": "the", "length": 0}, "length"),
    ({"start_word": "the", "length": 501}, "length"),
    ({"start_word": "the", "top_k": 101}, "top_k"),
    ({"start_word": "the", "strategy": "beam"}, "strategy"),
    ({"start_word": "the", "temperature": 0}, "temperature"),
    ({"length": 5}, "start_word"),
    ({"start_word": "the", "colour": "red"}, "colour"),
])
def test_bigram_bad_input(bigram, body, field):
    [(status, answer)] = ask(bigram, body)
    assert status == 400 and answer["field"] == field


def test_embed_word_words_and_missing_vector(embed):
    [(status, king), (_, words), (_, missing), (bad, error)] = ask(
        embed, {"word": "king"}, {"words": ["king", "qwxzzkv", "New York"]}, {"word": "qwxzzkv"},
        {"word": "king", "words": ["queen"]})
    assert status == 200 and king["dim"] == 300 and len(king["vector"]) == 300 and king["has_vector"]
    assert [e["word"] for e in words["results"]] == ["king", "qwxzzkv", "New York"]
    assert words["results"][0]["vector"] == king["vector"]
    assert words["results"][1] == missing == {
        "word": "qwxzzkv", "dim": 300, "vector": None, "has_vector": False,
        "tokens": ["qwxzzkv"], "tokens_without_vector": ["qwxzzkv"]}
    assert bad == 400 and error["field"] == "word"


def test_similar_answers_a_batch_with_different_top_k(similar):
    [(status, five), (_, two), (missing_status, missing)] = ask(
        similar, {"word": "king", "top_k": 5}, {"word": "king", "top_k": 2}, {"word": "qwxzzkv"})
    assert status == 200 and five["word"] == "king" and five["top_k"] == 5
    assert len(five["results"]) == 5 and five["results"][:2] == two["results"]
    scores = [r["score"] for r in five["results"]]
    assert scores == sorted(scores, reverse=True) and np.all(np.array(scores) <= 1.0)
    assert missing_status == 422 and missing["field"] == "word"


@pytest.mark.parametrize("body, field", [
    ({"word": "king", "top_k": 0}, "top_k"), ({"word": "king", "top_k": 101}, "top_k"),
    ({"word": ""}, "word"), ({"word": ["king"]}, "word"), ({"top_k": 3}, "word"),
])
def test_similar_bad_input(similar, body, field):
    [(status, answer)] = ask(similar, body)
    assert status == 400 and answer["field"] == field
