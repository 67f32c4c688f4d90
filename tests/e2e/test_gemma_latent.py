"""Latent language on gemma-3-270m: the lens finds the answer, ablation removes it, a control does not."""

import pytest

from langneurons.tasks.protocol import task_kind
from tests.e2e.run import lape_run

pytestmark = pytest.mark.slow


def test_translation_to_chinese_passes_through_english_and_needs_chinese_neurons():
    task, context, evaluate = lape_run("latent_language.yaml", ["en", "fr", "zh"])
    cell = next(c for c in task_kind("latent").cells(task) if c.id == "translation[fr>zh]")
    result = evaluate(cell)
    m = result.metrics
    assert m["items"] >= 80
    assert m["final_accuracy"] >= 0.4
    # English is most probable strictly inside the stack, and the target ends ahead of it
    assert 0 < m["latent_peak_layer"] < context.handle.info.num_layers - 1
    assert result.curves["p_target"][-1] > result.curves["p_latent"][-1]
    # zeroing Chinese neurons removes most of the answer; as many random neurons do not
    assert m["target_drop"] > 0.5 * m["final_target_prob"]
    assert abs(m["control_drop"]) < 0.2 * m["target_drop"]
