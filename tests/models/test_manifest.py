import pytest

from models.manifest import manifest_name, sha256_of, verified_weights, write_manifest


def test_verified_weights_checks_the_sha256(tmp_path):
    (tmp_path / "w.pt").write_bytes(b"weights")
    write_manifest(tmp_path / "m.json", {"weights": {"file": "w.pt", "sha256": sha256_of(tmp_path / "w.pt")}})
    path, manifest = verified_weights(tmp_path / "m.json")
    assert path == tmp_path / "w.pt" and manifest["weights"]["file"] == "w.pt"

    (tmp_path / "w.pt").write_bytes(b"tampered")
    with pytest.raises(ValueError, match="sha256"):
        verified_weights(tmp_path / "m.json")


def test_committed_manifests_match_their_weights_and_follow_the_naming_rule():
    from pathlib import Path

    from models.loader import load_network

    for path in sorted((Path(__file__).parents[2] / "weights").glob("*.json")):
        _, manifest = verified_weights(path)
        assert path.name == manifest_name(manifest["model"], manifest["version"])
        if "network" in manifest:
            load_network(path)
