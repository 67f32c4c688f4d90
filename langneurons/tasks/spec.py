"""Task files: YAML validated in one place against the schema its kind declares.

``load_task(path)`` parses with the strict YAML reader (UTF-8, no key given
twice), checks the common fields (``name``, ``kind``, ``version``,
``description``, ``languages``, ``data``, ``checks``) and the kind's own fields
with a pydantic model that forbids unknown keys, in strict mode (``true`` is not
1, ``2.5`` is not an integer; an integer is still a float), and reports errors
as "file: key.path: problem (allowed: ...)". Language
codes are checked here, once. The spec hash is the sha256 of the canonical JSON
of the *validated* spec, so formatting and comments do not change it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from langneurons.canonical import sha256_of
from langneurons.errors import ConfigError
from langneurons.input_files import load_yaml
from langneurons.text.corpus import CorpusSpec, check_source
from langneurons.text.languages import check_languages


class DataSpec(BaseModel):
    """Which text a task reads."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(description="udhr, text, jsonl, flores or wikipedia")
    split: Literal["identify", "evaluate"] = Field(description="which split the task scores")
    path: str | None = Field(default=None, description="file template for text/jsonl sources")


class ControlSpec(BaseModel):
    """The random control: per language, random neurons in the same per-layer counts.

    It is drawn ``draws`` times; a cell reports the mean over draws and their
    spread, and checks read the mean (or its interval), never one draw.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = Field(default=0, description="seed of the random sets")
    draws: int = Field(default=5, ge=1, description="independent random sets, averaged")


class TaskFields(BaseModel):
    """Fields every task has; a kind's spec model extends this class."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="unique task name, used in cell ids and results")
    kind: str = Field(description="the task kind that runs it")
    version: int = Field(ge=1, description="bumped whenever the task's meaning changes")
    description: str = Field(default="", description="one paragraph for humans")
    languages: list[str] = Field(description="ISO 639-1 codes")
    data: DataSpec

    def needs_histograms(self) -> bool:
        """Whether the task needs activation histograms in the statistics (percentiles)."""
        return False

    def needs_unit_means(self) -> bool:
        """Whether the task needs unit means in the statistics (unit percentiles)."""
        return False

    def token_budget(self) -> int | None:
        """Text tokens the task scores per language, checked before the model loads."""
        return None

    def input_tokens(self) -> int | None:
        """Text tokens of the task's model inputs (BOS aside), checked against the context."""
        return None


#: a kind's spec model
F = TypeVar("F", bound=TaskFields, covariant=True)


@dataclass(frozen=True)
class TaskSpec(Generic[F]):
    """A validated task, generic over its kind's spec model (``TaskSpec[AblationSpec]``).

    Attributes:
        path: the YAML file it came from.
        fields: the kind's validated spec model.
        sha256: hash of the canonical JSON of ``fields``.
    """

    path: Path
    fields: F

    @property
    def name(self) -> str:
        """Task name."""
        return str(self.fields.name)

    @property
    def kind(self) -> str:
        """Task kind name."""
        return str(self.fields.kind)

    @property
    def languages(self) -> list[str]:
        """Languages of the task (after any ``--langs`` filter)."""
        return list(self.fields.languages)

    @property
    def corpus(self) -> CorpusSpec:
        """The task's text source (with its token budget, so a streamed source reads enough)."""
        data = self.fields.data
        return CorpusSpec(data.source, data.path, self.fields.token_budget())

    @property
    def sha256(self) -> str:
        """Hash of the validated spec."""
        return spec_sha256(self.fields.model_dump(mode="json"))

    def with_languages(self, languages: list[str]) -> TaskSpec[F]:
        """Return the task restricted to ``languages`` (kept in the task's order).

        Raises:
            ConfigError: none of ``languages`` is in the task.
        """
        kept = [lang for lang in self.languages if lang in languages]
        if not kept:
            raise ConfigError(
                f"{self.path}: --langs {','.join(languages)} leaves no language of task "
                f"'{self.name}' ({', '.join(self.languages)})"
            )
        return TaskSpec(self.path, self.fields.model_copy(update={"languages": kept}))


def budget_where(task: TaskSpec[TaskFields], lang: str) -> str:
    """How a token-budget error names the text: task file, language, source and split."""
    return f"{task.path}: {lang} text ({task.corpus.describe()}, {task.fields.data.split})"


def spec_sha256(spec: dict[str, Any]) -> str:
    """sha256 of a spec's canonical JSON (its JSON form, as results files store it)."""
    return sha256_of(spec)


def load_task(path: Path) -> TaskSpec[TaskFields]:
    """Read and validate a task file.

    Raises:
        ConfigError: malformed YAML, unknown or missing keys, bad values,
            unknown kind, source or language; the message names file and key.
    """
    from langneurons.tasks.protocol import task_kind

    path = Path(path)
    data = load_yaml(path, "task file", ConfigError)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of task fields at the top level")
    if "kind" not in data:
        raise ConfigError(f"{path}: missing key 'kind'")
    try:
        kind = task_kind(str(data["kind"]))
    except ConfigError as error:
        raise ConfigError(f"{path}: kind: {error}") from None
    try:
        fields = kind.spec_model.model_validate(data, strict=True)
    except ValidationError as error:
        raise ConfigError(f"{path}: {_first_problem(error, kind.spec_model)}") from None
    check_languages(fields.languages, f"{path}: languages")
    try:
        check_source(CorpusSpec(fields.data.source, fields.data.path))
    except ConfigError as error:
        raise ConfigError(f"{path}: data.source: {error}") from None
    return TaskSpec(path, fields)


def _first_problem(error: ValidationError, model: type[BaseModel]) -> str:
    # a misspelt key shows up as unknown *and* missing: name the unknown one
    problem = min(error.errors(), key=lambda e: e["type"] != "extra_forbidden")
    location = [str(part) for part in problem["loc"]]
    key = ".".join(location) or "(top level)"
    if problem["type"] == "extra_forbidden":
        parent = _model_at(model, location[:-1])
        allowed = ", ".join(parent.model_fields) if parent is not None else "?"
        return f"{'.'.join(location[:-1]) + ': ' if len(location) > 1 else ''}unknown key '{location[-1]}' (allowed: {allowed})"
    if problem["type"] == "missing":
        return f"missing key '{key}'"
    given = problem.get("input")
    got = "" if isinstance(given, dict | list) else f" (got {given!r})"
    return f"{key}: {problem['msg']}{got}"


def _model_at(model: type[BaseModel], location: list[str]) -> type[BaseModel] | None:
    current: Any = model
    for part in location:
        fields = getattr(current, "model_fields", {})
        field = fields.get(part)
        if field is None:
            return None
        current = field.annotation
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None
