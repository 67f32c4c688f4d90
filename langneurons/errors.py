"""User-facing errors: what was given, what was expected, what to do next.

The CLI prints a ``LangneuronsError`` as one line without a traceback and exits
with code 2; the pytest plugin turns it into a usage error. Bugs keep their
tracebacks.
"""

from __future__ import annotations


class LangneuronsError(Exception):
    """Base class of every error caused by input rather than by a bug."""


class ConfigError(LangneuronsError):
    """A task file, option or argument is malformed or names something unknown."""


class FormatError(LangneuronsError):
    """A file does not follow the versioned format it claims (or any known one)."""


class UnsupportedModelError(LangneuronsError):
    """The model's architecture has no adapter, or its adapter does not fit it."""


class ShapeMismatchError(LangneuronsError):
    """A neuron set or statistics file was made for a model of another shape."""


class MissingResourceError(LangneuronsError):
    """A model, corpus or optional dependency is not available offline."""


def pip_dependency_error(feature: str, package: str) -> MissingResourceError:
    """Build the error raised when an optional dependency is missing.

    Args:
        feature: what the user asked for, e.g. "FLORES+ corpus".
        package: the pip requirement that provides it.

    Returns:
        An error whose message carries the install command.
    """
    return MissingResourceError(f"{feature} needs the package '{package}': pip install '{package}'")
