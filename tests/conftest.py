import pytest

from langneurons.paths import cache_dir
from tests.synthetic import save_tiny_model

# the user's cache, read before any test isolates its own (prepared models and text live here)
REAL_CACHE = cache_dir()


@pytest.fixture(scope="session")
def tiny_model_folder(tmp_path_factory):
    return save_tiny_model(tmp_path_factory.mktemp("models") / "tiny-llama", "llama")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch, request):
    """Unit and integration tests get an empty cache; real-model tests keep the user's."""
    if request.node.get_closest_marker("slow") is None:
        monkeypatch.setenv("LANGNEURONS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
