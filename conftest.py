"""Loads the langneurons pytest plugin (options, cell parametrization, results)."""

pytest_plugins = ["langneurons.run.pytest_plugin"]
