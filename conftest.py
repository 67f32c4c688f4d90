"""Loads the langneurons pytest plugin (options, cell parametrization, results)."""

pytest_plugins = ["langneurons.pytest_plugin"]
