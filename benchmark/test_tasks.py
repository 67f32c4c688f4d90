"""Every cell of every task: one check per (neuron set, task, cell), thresholds from the task file.

Ids are ``task/cell`` (``ablation_perplexity/ablate[zh]-eval[ja]``), prefixed by the
set's name when ``--neurons`` names several; ``-k`` selects by any part.
"""


def test_cell(cell, evaluate):
    result = evaluate(cell)
    assert result.passed, "; ".join(result.failures)
