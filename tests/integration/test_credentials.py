"""Keys that expire while clients use them: a TorchServe of its own whose keys live seconds, not
the 60 minutes of config.properties, serving bigram only."""

import shutil
import time
from pathlib import Path

import pytest
import requests

from models.catalog import ROOT
from scripts.server import Server, on_free_ports
from tsclient import Client
from tsclient.keys import read_keys

LIFETIME_S = 8


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory, model_store):
    workdir = tmp_path_factory.mktemp("short-lived-keys")
    config = on_free_ports(Path(shutil.copy(ROOT / "config.properties", workdir)), model_store=str(model_store),
                           load_models="bigram.mar", token_expiration_min=str(LIFETIME_S / 60))
    server = Server(workdir, config, model_store)
    try:
        server.start()
        server.wait_until_ready(["bigram"])
        yield server
    finally:
        server.stop()


def wait_until_expired(server, kind):
    keys = read_keys(server.workdir / "key_file.json")
    old = keys[kind]["key"]
    deadline = time.time() + 2 * LIFETIME_S
    while requests.get(f"{server.management_url}/models", headers={"Authorization": f"Bearer {old}"}).ok \
            if kind == "management" else \
            requests.post(f"{server.inference_url}/predictions/bigram", json={"start_word": "the"},
                          headers={"Authorization": f"Bearer {old}"}).ok:
        assert time.time() < deadline, "the key did not expire"
        time.sleep(0.5)
    return old


def test_a_client_keeps_working_across_expiries(short_lived):
    client = Client(url=short_lived.inference_url, key_file=short_lived.workdir / "key_file.json",
                    management_url=short_lived.management_url)
    other = Client(url=short_lived.inference_url, key_file=short_lived.workdir / "key_file.json",
                   management_url=short_lived.management_url)
    for _ in range(2):
        assert client.bigram("the", length=3, seed=1).startswith("the")
        old = wait_until_expired(short_lived, "inference")
        # Expired: the server refuses it, without saying what the key is.
        refused = requests.post(f"{short_lived.inference_url}/predictions/bigram", json={"start_word": "the"},
                                headers={"Authorization": f"Bearer {old}"})
        assert refused.status_code in (400, 401) and old not in refused.text
        assert client.bigram("the", length=3, seed=1).startswith("the")  # renewed through the token API
        assert read_keys(short_lived.workdir / "key_file.json")["inference"]["key"] != old
        # Another client with the key that was just replaced reads the new one.
        assert other.bigram("the", length=3, seed=2).startswith("the")


def test_the_management_key_is_renewed_the_same_way(short_lived):
    old = wait_until_expired(short_lived, "management")
    response = short_lived.management("GET", "/models")
    assert response.status_code == 200 and response.json()["models"][0]["modelName"] == "bigram"
    assert short_lived.keys()["management"] != old
