"""The registration guard (archive/registration.py) on its own: every url form it refuses, and the
one it accepts, against a model store of two small files."""

import pytest

from archive import checksums
from archive.registration import RegistrationRefused, registrable_archive

REFUSED = [
    "/etc/passwd", "/abs/model-store/toy.mar", "model-store/toy.mar", "./toy.mar", "../toy.mar", "..", "toy.mar/..",
    "folder", "file:///etc/passwd", "file://toy.mar", "http://127.0.0.1/evil.mar", "https://example.com/evil.mar",
    "HTTP://example.com/evil.mar", "s3://bucket/evil.mar", "jar:http://x/evil.mar!/", "ftp://x/evil.mar",
    "//x/evil.mar", "C:\\evil.mar", "..%2ftoy.mar", "%2e%2e/toy.mar", "%252e%252e%252ftoy.mar", "%2Fetc%2Fpasswd",
    "http%3A%2F%2Fx%2Fevil.mar", "toy%2emar", "unknown.mar", "toy", "", " toy.mar", "toy.mar\n", "changed.mar",
    "link.mar",
]


@pytest.fixture
def model_store(tmp_path):
    (tmp_path / "toy.mar").write_bytes(b"an archive")
    (tmp_path / "changed.mar").write_bytes(b"as built")
    (tmp_path / "folder").mkdir()
    for name in ("toy.mar", "changed.mar"):
        checksums.record(tmp_path, name)
    (tmp_path / "changed.mar").write_bytes(b"changed since")
    (tmp_path / "link.mar").symlink_to(tmp_path / "toy.mar")
    sums = (tmp_path / checksums.FILE_NAME).read_text()
    (tmp_path / checksums.FILE_NAME).write_text(sums + sums.splitlines()[-1].replace("toy.mar", "link.mar") + "\n")
    return tmp_path


def test_a_recorded_unchanged_archive_is_accepted(model_store):
    assert registrable_archive("toy.mar", model_store) == "toy.mar"


@pytest.mark.parametrize("url", REFUSED)
def test_every_other_url_is_refused_with_its_reason(model_store, url):
    with pytest.raises(RegistrationRefused) as refused:
        registrable_archive(url, model_store)
    assert str(refused.value).startswith("url ") or str(refused.value).startswith("url:")


def test_the_reasons_say_what_is_wrong(model_store):
    reasons = {url: str(pytest.raises(RegistrationRefused, registrable_archive, url, model_store).value)
               for url in ["/etc/passwd", "s3://bucket/evil.mar", "%2e%2e/toy.mar", "unknown.mar", "changed.mar"]}
    assert "is a path" in reasons["/etc/passwd"]
    assert "scheme" in reasons["s3://bucket/evil.mar"]
    assert "percent-encoded" in reasons["%2e%2e/toy.mar"] and "'../toy.mar'" in reasons["%2e%2e/toy.mar"]
    assert "no archive of that name" in reasons["unknown.mar"] and "toy.mar" in reasons["unknown.mar"]
    assert "sha256 differs" in reasons["changed.mar"]
