"""Per-language perplexity under neuron ablation: one check per (ablated, evaluated) pair."""

KIND = "ablation"


def test_ablation(cell, evaluate):
    result = evaluate(cell)
    assert result.passed, "; ".join(result.failures)
