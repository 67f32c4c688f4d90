"""LAPE reproduces the reference identify.py neuron for neuron.

How the expected values were obtained: RUCAIBox/Language-Specific-Neurons@fdeca23
``identify.py`` (top_rate 0.01, filter_rate 0.95, activation_bar_ratio 0.95) was
run unchanged except for its input: ``n`` and ``over_zero`` were read from the
published Zhang et al. 2025 statistics (``activation.{lang}.Mistral-….pt``:
``total_tokens`` and ``over_zero``, plain counts, no prefix subtraction) in the
language order en, ru, es, fr, de, zh, ja, bn, th, sw. Its saved mask gave the
per-language counts below, and the sha256 of its canonical JSON
(``{lang: {layer: [indices]}}`` without empty layers, keys sorted, no spaces).
Both the thresholds (kthvalue ranks) and topk tie-breaking affect these values;
an off-by-one in either changes them.
"""

import hashlib
import json

from langneurons.neurons.identification import identify
from langneurons.neurons.importers import MGSM_LANGUAGES as LANGS
from langneurons.neurons.importers import mgsm_statistics

EXPECTED_COUNTS = [37, 571, 520, 737, 946, 382, 615, 1054, 576, 1057]
EXPECTED_SHA256 = "b3fe588271296cacb5c678887781412ca36febc5ea0d43f82a3a0f4ecfd49196"


def test_lape_on_published_statistics_equals_reference_identify_py(reference):
    found = identify("lape", mgsm_statistics(reference, prefixes=False))
    assert [found.count(lang) for lang in LANGS] == EXPECTED_COUNTS
    canonical = {
        lang: {str(layer): list(idx) for layer, idx in sorted(found.languages[lang].items())}
        for lang in LANGS
    }
    digest = hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode())
    assert digest.hexdigest() == EXPECTED_SHA256
