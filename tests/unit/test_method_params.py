"""Method parameters: declared once in a params model, checked on use, listed in the help."""

import pytest

from langneurons.errors import ConfigError
from langneurons.neurons.identification import METHODS, identify, method
from langneurons.run.cli import _parser
from tests.unit.test_lape import planted


def registered():
    method("lape")  # registers every method
    return METHODS.names()


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        (
            "lape",
            {"top_rat": 0.1},
            "method 'lape' has no parameter 'top_rat' "
            "(parameters: top_rate, filter_rate, activation_bar_ratio)",
        ),
        (
            "lape",
            {"top_rate": "0.1"},
            "method 'lape': parameter 'top_rate' must be float, got '0.1' "
            "(parameters: top_rate, filter_rate, activation_bar_ratio)",
        ),
        (
            "random",
            {"seed": 1.5, "like": "lape"},
            "method 'random': parameter 'seed' must be int, got 1.5 (parameters: seed, like)",
        ),
        (
            "zhang2025",
            {"xlambda": "0.1"},
            "method 'zhang2025': parameter 'xlambda' must be float | 'auto', got '0.1'",
        ),
        ("frequency", {"top_rate": True, "foo": 1}, "method 'frequency' has no parameter 'foo'"),
    ],
)
def test_an_unknown_or_badly_typed_parameter_is_named_in_one_line(name, params, message):
    with pytest.raises(ConfigError) as raised:
        identify(name, planted(), params)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_the_record_holds_every_parameter_with_its_default():
    found = identify("lape", planted(), {"top_rate": 0.015})
    assert found.method.model_dump() == {
        "name": "lape",
        "params": {"top_rate": 0.015, "filter_rate": 0.95, "activation_bar_ratio": 0.95},
    }


def test_every_parameter_has_a_description():
    for name in registered():
        for field, info in method(name).params.model_fields.items():
            assert info.description, f"{name}.{field}"


def test_identify_help_lists_every_method_with_its_parameters(capsys):
    with pytest.raises(SystemExit):
        _parser().parse_args(["identify", "--help"])
    shown = capsys.readouterr().out
    for name in registered():
        assert f"  {name}: {method(name).reference}" in shown
        for field, info in method(name).params.model_fields.items():
            assert f"    {field} = {info.default!r} (" in shown
            assert " ".join(info.description.split()[:4]) in shown
