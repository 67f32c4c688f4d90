"""Fixtures for every tier, and the rule that keeps tests/unit free of weights and tokenizers."""

import importlib.abc
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from langneurons.paths import cache_dir
from tests.synthetic import save_tiny_model

# the user's cache, read before any test isolates its own (prepared models and text live here)
REAL_CACHE = cache_dir()

UNIT_DIR = Path(__file__).parent / "unit"
NO_LOADING = "tests/unit must not load weights or tokenizers; move this test to tests/integration or tests/e2e"
#: module that defines a loader -> the loaders' attribute paths. The modules are patched
#: when a unit test runs, or when they are first imported during one: the guard itself
#: never imports transformers, so unit tests that do not touch it stay fast.
LOADERS: dict[str, tuple[str, ...]] = {
    "transformers.modeling_utils": ("PreTrainedModel.from_pretrained",),
    "transformers.models.auto.modeling_auto": ("AutoModelForCausalLM.from_pretrained",),
    "transformers.models.auto.tokenization_auto": ("AutoTokenizer.from_pretrained",),
    "transformers.tokenization_utils_base": ("PreTrainedTokenizerBase.from_pretrained",),
    "safetensors": ("safe_open",),
    "safetensors.torch": ("load_file",),
    "langneurons.models.handle": ("load_model",),
}
#: these read any safetensors file, statistics included: only a model folder's are refused
WEIGHT_READERS = {"safe_open", "load_file"}
#: true while a unit test or one of its fixtures runs
_armed = False


def _refuse(*args, **kwargs):
    pytest.fail(NO_LOADING)


def _guarded(function, name):
    """``function``, failing the test while armed (a module that imported it keeps this one)."""

    def guarded(*args, **kwargs):
        if _armed:
            if name not in WEIGHT_READERS:
                pytest.fail(NO_LOADING)
            filename = args[0] if args else kwargs.get("filename")
            if filename is not None and (Path(filename).parent / "config.json").exists():
                pytest.fail(f"{NO_LOADING} (read {filename})")
        return function(*args, **kwargs)

    return guarded


def _patch(patcher: pytest.MonkeyPatch, name: str) -> None:
    module = sys.modules[name]
    for path in LOADERS[name]:
        *owner_path, attribute = path.split(".")
        owner = module
        for part in owner_path:
            owner = getattr(owner, part)
        if owner is module:  # a function: ``from module import it`` may keep the patched one
            patcher.setattr(owner, attribute, _guarded(getattr(owner, attribute), attribute))
        else:  # a method: undoing the patch restores it for every caller
            patcher.setattr(owner, attribute, _refuse)


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Patches a loader module right after a unit test imports it for the first time."""

    def __init__(self, patcher: pytest.MonkeyPatch):
        self.patcher = patcher

    def find_spec(self, name, path, target=None):
        if name not in LOADERS:
            return None
        for finder in sys.meta_path:
            find = None if finder is self else getattr(finder, "find_spec", None)
            if find is not None and (spec := find(name, path, target)) is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None:
            return spec
        exec_module = loader.exec_module

        def exec_and_patch(module):
            try:
                exec_module(module)
            finally:
                del loader.exec_module  # the loader's own method again
            _patch(self.patcher, name)

        loader.exec_module = exec_and_patch
        return spec


@contextmanager
def no_loading() -> Iterator[None]:
    """Make every loader of weights or tokenizers fail the running test."""
    with pytest.MonkeyPatch.context() as patcher:
        for name in LOADERS:
            if name in sys.modules:
                _patch(patcher, name)
        finder = _PatchOnImport(patcher)
        sys.meta_path.insert(0, finder)
        global _armed
        _armed = True
        try:
            yield
        finally:
            _armed = False
            sys.meta_path.remove(finder)


@pytest.fixture(scope="session")
def tiny_model_folder(tmp_path_factory):
    return save_tiny_model(tmp_path_factory.mktemp("models") / "tiny-llama", "llama")


@pytest.fixture
def run(tiny_model_folder, tmp_path, monkeypatch):
    """Options for a valid run on the tiny model, whose weights must not load; tests break one thing."""
    from langneurons.run import session as session_module
    from langneurons.run.session import RunOptions
    from tests.synthetic import TINY_ABLATION_TASK, tiny_neuron_set, write_text_corpus

    def no_loading(*args, **kwargs):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(session_module, "load_model", no_loading)
    corpus = write_text_corpus(tmp_path / "text")
    task = tmp_path / "tiny.yaml"
    task.write_text(TINY_ABLATION_TASK.format(name="tiny", corpus=corpus))
    options = RunOptions(
        model=str(tiny_model_folder),
        neurons=str(tiny_neuron_set(tmp_path, tiny_model_folder)),
        tasks=(task,),
        identify_data=f"text:{corpus}",
        progress=False,
    )
    return {"options": options, "corpus": corpus, "task": task}


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch, request):
    """Unit and integration tests get an empty cache; real-model tests keep the user's."""
    if request.node.get_closest_marker("slow") is None:
        monkeypatch.setenv("LANGNEURONS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Unit tests, their fixtures included, run with the loaders refused (STYLE.md item 10)."""
    if not item.path.is_relative_to(UNIT_DIR):
        return (yield)
    with no_loading():
        return (yield)
