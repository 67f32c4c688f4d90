"""Latent-language checks: one test per cell of every ``kind: latent`` task."""

KIND = "latent"


def test_latent(cell, evaluate):
    result = evaluate(cell)
    assert result.passed, "; ".join(result.failures)
