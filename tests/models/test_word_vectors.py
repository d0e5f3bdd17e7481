import numpy as np
import pytest

from models.word_vectors import CosineIndex, SimilarWords, WordVectors, installed_vectors_file, load_pipeline

ROYALTY = {"queen", "prince", "princess", "monarch", "kings", "throne", "emperor", "royal", "ruler"}


@pytest.fixture(scope="module")
def nlp():
    return load_pipeline(installed_vectors_file())


@pytest.fixture(scope="module")
def word_vectors(nlp) -> WordVectors:
    return WordVectors(nlp)


@pytest.fixture(scope="module")
def similar(word_vectors) -> SimilarWords:
    return SimilarWords(word_vectors)


def test_word_vector_is_spacys(word_vectors, nlp):
    king = word_vectors.embed("king")
    assert king.has_vector and king.vector.shape == (300,)
    np.testing.assert_array_equal(king.vector, nlp("king")[0].vector)


def test_phrase_is_the_mean_of_its_token_vectors(word_vectors, nlp):
    phrase = word_vectors.embed("New York city")
    doc = nlp("New York city")
    np.testing.assert_allclose(phrase.vector, np.mean([t.vector for t in doc], axis=0), rtol=1e-6)
    assert phrase.tokens == ["New", "York", "city"]


def test_words_without_a_vector_are_flagged_not_zero(word_vectors):
    missing = word_vectors.embed("qwxzzkv")
    assert not missing.has_vector and missing.vector is None
    assert missing.tokens_without_vector == ["qwxzzkv"]
    partial = word_vectors.embed("king qwxzzkv")
    np.testing.assert_array_equal(partial.vector, word_vectors.embed("king").vector)
    assert partial.tokens_without_vector == ["qwxzzkv"]


def test_row_names_are_unique_lowercase_keys_of_their_row(word_vectors):
    names = word_vectors.row_names()
    assert len(names) == 20000
    readable = [n for n in names if n is not None]
    assert len(readable) == len(set(readable)) > 10000
    for row, name in enumerate(names[:3000]):
        if name is not None:
            assert name.isalpha() and name.islower()
            assert word_vectors.vectors.key2row[word_vectors.strings[name]] == row


def test_cosine_index_matches_a_brute_force_search():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(500, 16))
    names = [f"w{i}" if i % 7 else None for i in range(500)]
    queries = rng.normal(size=(3, 16))
    results = CosineIndex(vectors, names).top_k(queries, 5, [[1, 2], [], [3, 7]])
    for query, excluded, result in zip(queries, [[1, 2], [], [3, 7]], results):
        expected = []
        for i in range(500):
            if names[i] is not None and i not in excluded:
                cosine = query @ vectors[i] / np.linalg.norm(query) / np.linalg.norm(vectors[i])
                expected.append((cosine, names[i]))
        expected.sort(reverse=True)
        assert [name for name, _ in result] == [name for _, name in expected[:5]]
        np.testing.assert_allclose([s for _, s in result], [c for c, _ in expected[:5]], rtol=1e-5)


def test_king_has_royalty_neighbours(similar):
    words = [w for w, _ in similar.most_similar(["king"], 10)[0]]
    assert len(ROYALTY & set(words)) >= 3, words
    assert "king" not in words and len(set(words)) == 10


def test_results_are_a_direct_cosine_search_over_all_rows(similar, word_vectors):
    data = word_vectors.vectors.data.astype(np.float64)
    names = word_vectors.row_names()
    for word in ["king", "dog", "paris"]:
        query = word_vectors.embed(word)
        cosine = data @ query.vector / np.linalg.norm(data, axis=1) / np.linalg.norm(query.vector)
        # The query itself is excluded: its own row, and a row named like it.
        order = [row for row in np.argsort(-cosine)
                 if names[row] not in (None, word) and row not in query.rows]
        expected = [names[row] for row in order[:10]]
        assert [w for w, _ in similar.most_similar([word], 10)[0]] == expected


def test_a_batch_answers_each_query_and_none_without_a_vector(similar):
    batch = similar.most_similar(["dog", "qwxzzkv", "king"], 5)
    assert batch[1] is None
    for answer, word in [(batch[0], "dog"), (batch[2], "king")]:
        alone = similar.most_similar([word], 5)[0]
        assert [w for w, _ in answer] == [w for w, _ in alone]
        np.testing.assert_allclose([s for _, s in answer], [s for _, s in alone], rtol=1e-5)


def test_the_pipeline_is_the_one_around_the_vectors_file_named(tmp_path):
    with pytest.raises(ValueError, match="vocab/vectors"):
        load_pipeline(tmp_path / "en_core_web_md-3.7.1" / "vectors")
    assert installed_vectors_file().parts[-2:] == ("vocab", "vectors")
