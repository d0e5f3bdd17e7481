"""The describe call (`GET /models/<model>/<version>?customized=true`): every version of every
model in the catalog shows its request fields and its weights' summary, and the README's table of
request fields (scripts/request_tables.py) is what the server describes."""

from models.catalog import ROOT, catalog
from scripts.readme_sections import section
from scripts.request_tables import SECTION, described, render


def test_every_model_version_describes_its_fields_and_weights(server):
    schemas = dict(described(server))
    entries = catalog()
    assert sorted(schemas) == sorted(f"{entry.model}/{entry.version}" for entry in entries)
    for entry in entries:
        schema = schemas[f"{entry.model}/{entry.version}"]
        assert schema["model"] == entry.model and schema["version"] == entry.version
        assert schema["weights"]["sha256"] == entry.manifest.get("weights", {}).get("sha256")
        assert schema["weights"]["metrics"] == entry.manifest.get("metrics")
        for name, field in schema["request"]["fields"].items():
            if name in entry.limits and "bounds" in field:
                assert field["bounds"] == list(entry.limits[name]), (entry.model, entry.version, name)
            if name in entry.defaults:
                assert field["default"] == entry.defaults[name], (entry.model, entry.version, name)
        if entry.is_iterative:  # the server's CPU workers run what the model-config names
            assert schema["backend"] == entry.backend("cpu"), (entry.model, entry.version)
    assert schemas["diffusion/2.0"]["backend"] == "onnxruntime" and schemas["diffusion/1.0"]["backend"] == "pytorch"
    fields = schemas["bigram/1.0"]["request"]["fields"]
    assert fields["length"] == {"type": "integer", "required": False, "default": 20, "bounds": [1, 500]}
    assert schemas["ebm/2.0"]["request"]["fields"]["steps"]["default"] == 10


def test_the_readmes_table_of_request_fields_is_what_the_server_describes(server):
    assert section(ROOT / "README.md", SECTION) == render(described(server)), \
        "run make serve, then python scripts/request_tables.py"
