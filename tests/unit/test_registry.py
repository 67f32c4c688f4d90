import pytest

from langneurons.errors import ConfigError
from langneurons.neurons.identification import method
from langneurons.registry import Registry


def test_registering_a_taken_name_raises():
    registry = Registry("thing")
    registry.add("a", 1)
    with pytest.raises(ValueError, match="already registered"):
        registry.add("a", 2)


def test_unknown_name_suggests_and_lists():
    with pytest.raises(
        ConfigError,
        match="unknown method 'lapee'; did you mean 'lape'\\? known: diffmean, frequency, kojima2024, lape, meandiff, random, zhang2025",
    ):
        method("lapee")


def test_unknown_method_parameter_is_named():
    from langneurons.neurons.identification import identify
    from tests.unit.test_lape import planted

    with pytest.raises(ConfigError, match="method 'lape' has no parameter 'top_rat'"):
        identify("lape", planted(), {"top_rat": 0.1})
