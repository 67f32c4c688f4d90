"""One generic registry for every plug-in kind (architectures, methods, task kinds).

Registering a taken name raises; looking up an unknown name raises a
``ConfigError`` with a suggestion and the full list, e.g. "unknown method
'lapee'; did you mean 'lape'? known: lape, random".
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

from langneurons.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """Name -> plug-in mapping for one kind of plug-in."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def add(self, name: str, item: T) -> T:
        """Register ``item`` under ``name``; a name can be taken only once."""
        existing = self._items.get(name)
        if existing is not None and existing is not item:
            raise ValueError(f"{self.kind} '{name}' is already registered")
        self._items[name] = item
        return item

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of :meth:`add`."""

        def decorate(item: T) -> T:
            return self.add(name, item)

        return decorate

    def get(self, name: str) -> T:
        """Return the plug-in named ``name``.

        Raises:
            ConfigError: the name is unknown; the message suggests close names.
        """
        try:
            return self._items[name]
        except KeyError:
            raise ConfigError(self.unknown_message(name)) from None

    def unknown_message(self, name: str) -> str:
        """Describe an unknown name, with a suggestion and the known names."""
        return unknown_message(self.kind, name, self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))

    def names(self) -> list[str]:
        """Return the registered names, sorted."""
        return sorted(self._items)


def unknown_message(kind: str, name: str, known: Iterable[str]) -> str:
    """Describe an unknown ``name`` of ``kind`` with a suggestion and the known names.

    Shared with name lookups that are not registries (task names in ``tasks/``),
    so every "unknown ..." message reads the same.
    """
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ";"
    return f"unknown {kind} '{name}'{hint} known: {', '.join(names)}"
