"""Downstream accuracy under ablation: one check per (ablated language, task language) pair."""

KIND = "downstream"


def test_downstream(cell, evaluate):
    result = evaluate(cell)
    assert result.passed, "; ".join(result.failures)
