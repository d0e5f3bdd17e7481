"""The client as a distribution of its own (pyproject.toml): `pip install` of the repository into a
fresh virtual environment, then used from a folder outside the checkout, with none of the project
on the path, against the tests' TorchServe: the library and its `tsclient` command."""

import json
import os
import subprocess
import sys

import pytest

from models.catalog import ROOT

SCRIPT = """
import sys
from tsclient import Client, Progress
import tsclient
client = Client(url=sys.argv[1], key_file=sys.argv[2], management_url=sys.argv[3])
print(tsclient.__file__)
print(client.bigram("the", length=8, seed=1))
try:
    import models
    print("the project is importable")
except ModuleNotFoundError:
    print("only the client")
"""


@pytest.fixture(scope="module")
def environment(tmp_path_factory):
    venv = tmp_path_factory.mktemp("client") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    installed = subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", str(ROOT)], capture_output=True,
                               text=True)
    assert installed.returncode == 0, installed.stderr[-3000:]
    return venv


def outside(environment, tmp_path, *command):
    env = {name: value for name, value in os.environ.items() if name not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def test_the_installed_client_works_outside_the_checkout(environment, client, tmp_path):
    server = client.server
    expected = client.predict("bigram", {"start_word": "the", "length": 8, "seed": 1}).json()["generated_text"]
    connection = [server.inference_url, str(server.workdir / "key_file.json"), server.management_url]
    run = outside(environment, tmp_path, str(environment / "bin" / "python"), "-c", SCRIPT, *connection)
    assert run.returncode == 0, run.stderr[-2000:]
    location, text, project = run.stdout.splitlines()
    assert location.startswith(str(environment)) and not location.startswith(str(ROOT))
    assert text == expected and project == "only the client"

    command = [str(environment / "bin" / "tsclient"), "--url", connection[0], "--key-file", connection[1],
               "--management-url", connection[2], "--json", "bigram", "the", "--length", "8", "--seed", "1"]
    run = outside(environment, tmp_path, *command)
    assert run.returncode == 0, run.stderr[-2000:]
    assert json.loads(run.stdout)["generated_text"] == expected
