"""Input files read strictly: UTF-8 text, JSON and YAML that say one thing only.

The standard readers accept files that mean something other than what their
author sees: a key given twice (the last silently wins), ``NaN`` and
``Infinity`` in JSON (not JSON, and a threshold of NaN makes every check
vacuous), bytes that are not UTF-8, a binary file. Every file a user gives
(task files, neuron sets, concept and prompt data, local corpora, results and
submissions) is read through this module, so each of these is one line naming
the file and what to do, whichever reader meets it. Path templates
(``data/{lang}.{split}.txt``) are checked here too: an unknown field is named
with the allowed ones before anything is read.

Every function takes the error class to raise, so a task file fails with a
``ConfigError`` and a neuron set with a ``FormatError``, as their readers document.
"""

from __future__ import annotations

import json
import math
import string
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from langneurons.errors import ConfigError, FormatError, LangneuronsError

Error = type[LangneuronsError]


def read_text(path: Path | str, what: str, error: Error = FormatError) -> str:
    """Return the text of ``path``, which must be UTF-8 (a leading BOM is dropped).

    Args:
        path: the file.
        what: what the file is, for messages ("neuron set", "task file").
        error: the error class to raise.

    Raises:
        error: the file is missing, a folder, binary, UTF-16 or not UTF-8.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise error(f"{what} {path} does not exist") from None
    except IsADirectoryError:
        raise error(f"{what} {path} is a folder, not a file") from None
    except OSError as problem:
        raise error(f"cannot read {what} {path}: {problem.strerror or problem}") from None
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise error(f"{what} {path} is UTF-16 text; save it as UTF-8")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise error(f"{what} {path} is a binary file, not text (NUL byte at offset {nul})")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as problem:
        byte = data[problem.start]
        raise error(
            f"{what} {path} is not UTF-8 text (byte 0x{byte:02x} at offset {problem.start}); "
            "save it as UTF-8"
        ) from None
    return text.removeprefix("\ufeff")


def parse_json(text: str, where: str, error: Error = FormatError) -> Any:
    """Parse JSON text, rejecting duplicate keys and non-finite numbers.

    Args:
        text: the JSON document.
        where: the file (and line, for JSON lines), for messages.
        error: the error class to raise.

    Raises:
        error: invalid JSON (with line and column, and a hint when the text ends
            early), a key given twice in one object, ``NaN``, ``Infinity`` or a
            number too large for a float.
    """
    try:
        data = json.loads(
            text,
            object_pairs_hook=_unique_object,
            parse_constant=_no_constant,
            parse_float=_finite_float,
        )
        found = _non_finite(data)  # outside any object: a bare NaN, or in a top-level array
        if found is not None:
            raise _Rejected(found.problem(None))
        return data
    except _Rejected as problem:
        raise error(f"{where}: {problem}") from None
    except json.JSONDecodeError as problem:
        hint = "; is the file truncated?" if problem.pos >= len(text.rstrip()) else ""
        raise error(
            f"{where} is not valid JSON ({problem.msg} at line {problem.lineno} column "
            f"{problem.colno}){hint}"
        ) from None


def load_json(path: Path | str, what: str, error: Error = FormatError) -> Any:
    """Read a JSON file strictly (:func:`read_text`, then :func:`parse_json`)."""
    return parse_json(read_text(path, what, error), f"{what} {path}", error)


def parse_yaml(text: str, where: str, error: Error = ConfigError) -> Any:
    """Parse YAML text with the safe loader, rejecting duplicate keys and ``.nan``/``.inf``.

    Merge keys (``<<: *base``) may still be overridden: that is what they are for.

    Args:
        text: the YAML document.
        where: the file, for messages.
        error: the error class to raise.

    Raises:
        error: malformed YAML, a key given twice in one mapping, a non-finite
            number; the message names the line.
    """
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.YAMLError as problem:
        mark = getattr(problem, "problem_mark", None)
        line = f" line {mark.line + 1}:" if mark is not None else ""
        message = getattr(problem, "problem", None) or str(problem).splitlines()[0]
        if isinstance(problem, _StrictYAMLError):
            raise error(f"{where}:{line} {message}") from None
        raise error(f"{where}:{line} malformed YAML: {message}") from None


def load_yaml(path: Path | str, what: str, error: Error = ConfigError) -> Any:
    """Read a YAML file strictly (:func:`read_text`, then :func:`parse_yaml`)."""
    return parse_yaml(read_text(path, what, error), f"{what} {path}", error)


def format_object(
    data: Any, format_: str, allowed: Iterable[str], required: Iterable[str], where: str
) -> dict[str, Any]:
    """``data`` as a JSON object of format ``format_`` with only ``allowed`` keys, ``required`` ones present.

    The first check of every versioned JSON format (neuron and vector sets).

    Raises:
        FormatError: not an object, another format, an unknown key or a missing one.
    """
    if not isinstance(data, dict):
        raise FormatError(f"{where}: expected a JSON object")
    if data.get("format") != format_:
        raise FormatError(
            f"{where} has format {data.get('format')!r}; this version reads {format_}"
        )
    keys = sorted(allowed)
    unknown = sorted(set(data) - set(keys))
    if unknown:
        raise FormatError(f"{where}: unknown key '{unknown[0]}' (allowed: {', '.join(keys)})")
    for key in required:
        if key not in data:
            raise FormatError(f"{where}: missing key '{key}'")
    return data


def template_fields(
    template: str, allowed: Iterable[str], where: str, error: Error = ConfigError
) -> set[str]:
    """Return the ``{field}`` names of a path template, rejecting any not in ``allowed``.

    Args:
        template: a ``str.format`` template such as ``data/{lang}.{split}.txt``.
        allowed: the fields the caller fills in.
        where: what the template is, for messages ("data source 'text' path").
        error: the error class to raise.

    Raises:
        error: an unknown or positional field, a format spec, or an unmatched brace.
    """
    names = sorted(allowed)
    listed = ", ".join(f"{{{name}}}" for name in names)
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as problem:
        raise error(
            f"{where} '{template}': {problem} (write a literal brace as {{{{ or }}}})"
        ) from None
    found: set[str] = set()
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in names or spec or conversion:
            field = "{" + name + (f"!{conversion}" if conversion else "")
            field += (f":{spec}" if spec else "") + "}"
            raise error(f"{where} '{template}': unknown field {field} (allowed: {listed})")
        found.add(name)
    return found


class _Rejected(ValueError):
    """JSON that parses but is rejected; the message says why (no position is known)."""


class _NonFinite:
    """Stands in for ``NaN``/``Infinity`` until the enclosing object names its key."""

    def __init__(self, text: str) -> None:
        self.text = text

    def problem(self, key: str | None) -> str:
        what = f"'{key}' has {self.text}" if key is not None else self.text
        if self.text in ("NaN", "Infinity", "-Infinity"):
            return f"{what}, which is not a JSON number; write a finite number or null"
        return f"{what}, a number too large for a float; write a finite number or null"


def _non_finite(value: Any) -> _NonFinite | None:
    if isinstance(value, _NonFinite):
        return value
    if isinstance(value, list):
        for item in value:
            found = _non_finite(item)
            if found is not None:
                return found
    return None


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Rejected(f"duplicate key '{key}' (each key may appear once in an object)")
        found = _non_finite(value)
        if found is not None:
            raise _Rejected(found.problem(key))
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    return _NonFinite(name)


def _finite_float(text: str) -> Any:
    value = float(text)
    return value if math.isfinite(value) else _NonFinite(text)


class _StrictYAMLError(yaml.constructor.ConstructorError):
    """A YAML document that parses but is rejected (duplicate key, non-finite number)."""


_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_SafeLoader):  # type: ignore[misc]
    """The safe loader, raising on a key given twice in one mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                first = seen.get(key)
            except TypeError:
                continue  # an unhashable key: the safe loader reports it
            if first is not None:
                raise _StrictYAMLError(
                    None,
                    None,
                    f"duplicate key '{key}' (first on line {first}; each key may appear once)",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line + 1
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:
        value: float = super().construct_yaml_float(node)
        if not math.isfinite(value):
            raise _StrictYAMLError(
                None, None, f"'{node.value}' is not a finite number", node.start_mark
            )
        return value


_StrictLoader.add_constructor("tag:yaml.org,2002:float", _StrictLoader.construct_yaml_float)
