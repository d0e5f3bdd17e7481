"""Registration through the management API, behind the guard (archive/registration.py): through the
gateway, an archive `make archive` recorded is registered, made the default and unregistered as
TorchServe documents it; every other url is refused with a JSON 400 and loads nothing, which bait
proves: a handler that writes a marker file when it is imported."""

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import requests

from models.catalog import ROOT


@pytest.fixture(scope="module")
def door(front_door):
    url, secret = front_door
    return url, {"Authorization": f"Bearer {secret}"}


def bait_files(model_store: Path, folder: Path, marker: Path) -> Path:
    """bigram's archive unpacked into `folder`, its handler made to write `marker` when imported."""
    zipfile.ZipFile(model_store / "bigram.mar").extractall(folder)
    handler = folder / json.loads((folder / "MAR-INF" / "MANIFEST.json").read_text())["model"]["handler"]
    handler.write_text(f"open({str(marker)!r}, 'w').write('imported')\n" + handler.read_text())
    return folder


@pytest.fixture
def bait(server, tmp_path):
    """A folder and an archive in the model store (not recorded by make archive), each with the
    marker-writing handler; yields (folder, archive file name, marker)."""
    marker = tmp_path / "marker"
    folder = bait_files(server.model_store, tmp_path / "bait", marker)
    archive = server.model_store / "bait.mar"
    shutil.make_archive(str(archive.with_suffix("")), "zip", folder)
    archive.with_suffix(".zip").rename(archive)
    try:
        yield folder, archive.name, marker
    finally:
        archive.unlink()


def models(server) -> list[str]:
    return [m["modelName"] for m in server.management("GET", "/models").json()["models"]]


def test_the_bait_runs_its_code_when_torchserve_itself_is_handed_it(server, tmp_path):
    """TorchServe's own management port (loopback only) loads a folder: the reason for the guard,
    and proof that the bait below would leave its marker if it got through."""
    marker = tmp_path / "marker"
    folder = bait_files(server.model_store, tmp_path / "bait", marker)
    response = server.management("POST", "/models", params={"url": str(folder), "model_name": "baitcheck",
                                                            "initial_workers": 1, "synchronous": "true"})
    try:
        assert response.status_code == 200, response.text
        assert marker.read_text() == "imported"
    finally:
        server.management("DELETE", "/models/baitcheck")


def refused_forms(bait_folder: Path, model_store: Path) -> list[str]:
    absolute = str(bait_folder)
    encoded = absolute.replace("/", "%2F")
    return [
        absolute, absolute + "/", f"{model_store}/bigram.mar", "bait", "../bait", "./bigram.mar",
        "bigram.mar/../../config.properties", "..", f"file://{absolute}", "file:///etc/passwd",
        "http://127.0.0.1:9/evil.mar", "https://127.0.0.1:9/evil.mar", "s3://bucket/evil.mar",
        encoded, encoded.replace("%", "%25"), "..%2Fbait", "%2e%2e%2fbait", "%252e%252e%252fbait",
        "http%3A%2F%2F127.0.0.1%3A9%2Fevil.mar", "bait.mar", "nosuch.mar",
    ]


def test_every_url_but_a_recorded_archive_is_refused_and_loads_nothing(server, door, bait):
    url, headers = door
    folder, archive, marker = bait
    before = models(server)
    for form in refused_forms(folder, server.model_store):
        # Sent as it would be typed in a shell: the query string as is, percent signs included.
        answer = requests.post(f"{url}/models?url={form}&model_name=evil&initial_workers=1&synchronous=true",
                               headers=headers, timeout=60)
        assert answer.status_code == 400, (form, answer.status_code, answer.text)
        assert answer.headers["Content-Type"] == "application/json"
        assert answer.json()["message"].startswith("url"), (form, answer.text)
    assert "bait.mar" in requests.post(f"{url}/models?url=bait.mar", headers=headers).json()["message"]
    assert not marker.exists()
    assert models(server) == before


def test_registration_needs_the_secret(server, door):
    url, _ = door
    for authorization in [None, f"Bearer {server.keys()['management']}"]:
        headers = {} if authorization is None else {"Authorization": authorization}
        for method, path in [("POST", "/models?url=cifar10_v1.0.mar"), ("DELETE", "/models/cifar10/1.0"),
                             ("PUT", "/models/cifar10/1.0/set-default")]:
            answer = requests.request(method, url + path, headers=headers)
            assert answer.status_code == 401 and answer.json()["code"] == 401, (method, path)
    assert "1.0" in [v["modelVersion"] for v in server.management("GET", "/models/cifar10/all").json()]


def versions(server, model: str) -> dict[str, bool]:
    """{version: whether it is the default} of `model` (GET /models/<model> describes the default)."""
    answer = server.management("GET", f"/models/{model}/all")
    if answer.status_code == 404:
        return {}
    default = server.management("GET", f"/models/{model}").json()[0]["modelVersion"]
    return {v["modelVersion"]: v["modelVersion"] == default for v in answer.json()}


def test_unregister_register_and_set_default_through_the_door(server, door, client):
    url, headers = door
    store = server.model_store / "cifar10_v1.0.mar"
    original = store.read_bytes()
    assert versions(server, "cifar10") == {"3.0": True, "2.0": False, "1.0": False}
    answer = requests.delete(f"{url}/models/cifar10/1.0", headers=headers, timeout=120)
    assert answer.status_code == 200, answer.text
    try:
        assert versions(server, "cifar10") == {"3.0": True, "2.0": False}
        assert client.predict("cifar10/1.0", data=b"x").status_code == 404
        store.write_bytes(original + b"\0")  # changed after make archive: refused by its sha256
        refused = requests.post(f"{url}/models?url=cifar10_v1.0.mar&model_name=cifar10", headers=headers)
        assert refused.status_code == 400 and "sha256 differs" in refused.json()["message"]
        assert versions(server, "cifar10") == {"3.0": True, "2.0": False}
    finally:
        store.write_bytes(original)
        answer = requests.post(f"{url}/models?url=cifar10_v1.0.mar&model_name=cifar10&initial_workers=1"
                               "&synchronous=true", headers=headers, timeout=300)
    assert answer.status_code == 200, answer.text
    assert versions(server, "cifar10") == {"3.0": True, "2.0": False, "1.0": False}
    image = (Path(__file__).parents[1] / "fixtures" / "cifar10").glob("*")
    body = next(p for p in image if p.suffix in (".png", ".jpg")).read_bytes()
    assert client.predict("cifar10/1.0", data=body).status_code == 200
    try:
        assert requests.put(f"{url}/models/cifar10/1.0/set-default", headers=headers).status_code == 200
        assert versions(server, "cifar10") == {"3.0": False, "2.0": False, "1.0": True}
    finally:
        assert requests.put(f"{url}/models/cifar10/3.0/set-default", headers=headers).status_code == 200
    assert versions(server, "cifar10") == {"3.0": True, "2.0": False, "1.0": False}


def test_scaling_through_the_door(server, door):
    url, headers = door
    workers = lambda: len(server.management("GET", "/models/bigram").json()[0]["workers"])  # noqa: E731
    assert workers() == 1
    try:
        answer = requests.put(f"{url}/models/bigram?min_worker=2&max_worker=2&synchronous=true", headers=headers)
        assert answer.status_code == 200, answer.text
        assert workers() == 2
    finally:
        requests.put(f"{url}/models/bigram?min_worker=1&max_worker=1&synchronous=true", headers=headers)
    assert workers() == 1


def test_make_register_and_unregister(server):
    """`make register MODEL=gan VERSION=1.0` and `make unregister ...`: scripts/server.py's commands."""
    options = ["--workdir", str(server.workdir), "--config", str(server.config),
               "--model-store", str(server.model_store)]
    command = [sys.executable, str(ROOT / "scripts" / "server.py")]
    done = subprocess.run([*command, "unregister", "--model", "gan", "--version", "1.0", *options],
                          capture_output=True, text=True)
    try:
        assert done.returncode == 0, done.stderr
        assert versions(server, "gan") == {"2.0": True}
    finally:
        done = subprocess.run([*command, "register", "--model", "gan", "--version", "1.0", *options],
                              capture_output=True, text=True)
    assert done.returncode == 0 and "registered gan_v1.0.mar" in done.stdout, done.stderr
    assert versions(server, "gan") == {"2.0": True, "1.0": False}
    refused = subprocess.run([*command, "register", "--model", "gan", "--version", "9.9", *options],
                             capture_output=True, text=True)
    assert refused.returncode != 0 and "no archive of gan 9.9" in refused.stderr
