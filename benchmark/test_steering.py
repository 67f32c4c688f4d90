"""Output-language steering: one check per (prompt language, target language) pair."""

KIND = "steering"


def test_steering(cell, evaluate):
    result = evaluate(cell)
    assert result.passed, "; ".join(result.failures)
