"""The describe call (`GET /models/<model>/<version>?customized=true`): every version of every
model shows its request fields and its weights' summary, and the README's table of request fields
(scripts/request_tables.py) is what the server describes."""

from models.catalog import ROOT
from models.manifest import manifest_name, read_manifest
from scripts.request_tables import END, START, described, render


def test_every_model_version_describes_its_fields_and_weights(server):
    schemas = described(server)
    assert [path for path, _ in schemas] == ["bigram/1.0", "cifar10/1.0", "cifar10/2.0", "diffusion/1.0", "ebm/1.0",
                                             "ebm/2.0", "embed/1.0", "gan/1.0", "gan/2.0", "similar/1.0"]
    for path, schema in schemas:
        model, version = path.split("/")
        manifest = read_manifest(ROOT / "weights" / manifest_name(model, version))
        assert schema["weights"]["sha256"] == manifest.get("weights", {}).get("sha256")
        assert schema["weights"]["metrics"] == manifest.get("metrics")
    fields = dict(schemas)["bigram/1.0"]["request"]["fields"]
    assert fields["length"] == {"type": "integer", "required": False, "default": 20, "bounds": [1, 500]}
    assert dict(schemas)["ebm/2.0"]["request"]["fields"]["steps"]["default"] == 20


def test_the_readmes_table_of_request_fields_is_what_the_server_describes(server):
    readme = (ROOT / "README.md").read_text()
    section = readme.split(START, 1)[1].split(END, 1)[0].strip()
    assert section == render(described(server)), "run make serve, then python scripts/request_tables.py"
