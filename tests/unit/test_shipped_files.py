"""Files shipped in the repository validate with the current readers."""

from pathlib import Path

import pytest

from langneurons.models.handle import aliases
from langneurons.neurons import neuron_set

ROOT = Path(__file__).resolve().parents[2]
SETS = sorted((ROOT / "neuron_sets").glob("*/*.json"))


@pytest.mark.parametrize("path", SETS, ids=[f"{p.parent.name}/{p.stem}" for p in SETS])
def test_shipped_neuron_set_validates_and_names_its_model(path):
    loaded = neuron_set.load(path)
    assert loaded.model.name == path.parent.name
    assert loaded.method.name == path.stem
    assert all(loaded.count(lang) > 0 for lang in loaded.languages)


def test_alias_registry_entries_are_complete():
    for name, entry in aliases().items():
        assert sum(key in entry for key in ("hub", "pypi", "parts")) == 1, name
        if "pypi" in entry:
            assert {"module", "gguf", "assemble", "license"} <= set(entry), name
        if "parts" in entry:  # chunk packages: the joined file is pinned
            assert {"version", "gguf", "sha256", "license"} <= set(entry), name
            assert len(bytes.fromhex(entry["sha256"])) == 32, name
