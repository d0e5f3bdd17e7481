"""The three text models through a real TorchServe: answers, errors, tokens, batches."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

ROYALTY = {"queen", "prince", "princess", "monarch", "kings", "throne", "emperor", "royal", "ruler"}


def test_bigram_generates_text_repeatable_by_seed(client):
    body = {"start_word": "the", "length": 20, "seed": 42}
    first, again = client.predict("bigram", body), client.predict("bigram", body)
    assert first.status_code == 200 and first.headers["Content-Type"].startswith("application/json")
    answer = first.json()
    assert answer["generated_text"] == again.json()["generated_text"]
    assert len(answer["generated_text"].split()) >= 15 and answer["start_word_known"] is True


def test_bigram_unknown_start_word(client):
    answer = client.predict("bigram", {"start_word": "Qwertyuiop", "length": 5}).json()
    assert answer["start_word_known"] is False and answer["generated_text"].startswith("Qwertyuiop")


def test_embed_word_and_words(client):
    king = client.predict("embed", {"word": "king"}).json()
    assert king["word"] == "king" and king["dim"] == 300 and len(king["vector"]) == 300
    results = client.predict("embed", {"words": ["king", "zzqxv"]}).json()["results"]
    assert results[0]["vector"] == king["vector"]
    assert results[1]["has_vector"] is False and results[1]["vector"] is None


def test_similar_king_has_royalty_neighbours(client):
    answer = client.predict("similar", {"word": "king", "top_k": 10}).json()
    tokens = [r["token"] for r in answer["results"]]
    assert answer["top_k"] == 10 and len(tokens) == 10 == len(set(tokens)) and "king" not in tokens
    assert len(ROYALTY & set(tokens)) >= 3, tokens


@pytest.mark.parametrize("model, body, field, limit", [
    ("bigram", {"start_word": "the", "length": 0}, "length", "1..500"),
    ("bigram", {"start_word": "the", "length": 501}, "length", "1..500"),
    ("bigram", {"start_word": ""}, "start_word", "characters"),
    ("bigram", {"start_word": 7}, "start_word", "a string"),
    ("bigram", {"length": 3}, "start_word", "required"),
    ("bigram", {"start_word": "the", "speed": 3}, "speed", "start_word, length"),
    ("embed", {"words": "king"}, "words", "a list"),
    ("similar", {"word": "king", "top_k": 0}, "top_k", "1..100"),
    ("similar", {"word": "king", "top_k": 101}, "top_k", "1..100"),
])
def test_bad_fields_get_400_naming_field_and_limit(client, model, body, field, limit):
    response = client.predict(model, body)
    assert response.status_code == 400
    error = response.json()
    assert error["field"] == field and limit in error["error"] + error["allowed"]


@pytest.mark.parametrize("model", ["bigram", "embed", "similar"])
def test_a_body_that_is_not_json_gets_400_and_the_worker_survives(client, model):
    response = client.predict(model, data=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and "not valid JSON" in response.json()["error"]
    response = client.predict(model, data=b"\x89PNG\x00\xff", headers={"Content-Type": "application/octet-stream"})
    assert response.status_code == 400
    good = {"bigram": {"start_word": "a"}, "embed": {"word": "a"}, "similar": {"word": "dog"}}[model]
    assert client.predict(model, good).status_code == 200


def test_requests_without_the_token_are_refused(server):
    body = {"start_word": "the"}
    for headers in [{}, {"Authorization": "Bearer wrong"}]:
        response = requests.post(f"{server.inference_url}/predictions/bigram", json=body, headers=headers)
        assert response.status_code in (400, 401, 403) and "Token" in response.text
        assert requests.get(f"{server.management_url}/models", headers=headers).status_code in (400, 401, 403)
    # The management key is not an inference key.
    response = requests.post(f"{server.inference_url}/predictions/bigram", json=body,
                             headers=server.headers("management"))
    assert response.status_code != 200


def test_concurrent_mixed_requests_each_get_their_own_answer(client):
    bodies = [{"start_word": "the", "length": 10, "seed": i} if i % 3 else {"start_word": "the", "length": 0}
              for i in range(24)]
    with ThreadPoolExecutor(12) as pool:
        responses = list(pool.map(lambda b: client.predict("bigram", b), bodies))
    for i, (body, response) in enumerate(zip(bodies, responses)):
        if i % 3:
            assert response.status_code == 200
            assert response.json()["seed"] == body["seed"]
            assert response.json()["generated_text"] == client.predict("bigram", body).json()["generated_text"]
        else:
            assert response.status_code == 400 and response.json()["field"] == "length"


def test_metrics_are_prometheus_text(server, client):
    client.predict("bigram", {"start_word": "the"})
    metrics = requests.get(f"{server.metrics_url}/metrics", timeout=10)
    assert metrics.status_code == 200 and "# TYPE" in metrics.text and "ts_inference_requests_total" in metrics.text
