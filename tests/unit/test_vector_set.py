"""Vector sets: the format read strictly, DiffMean's vectors by their definition, random-direction controls."""

import copy
import json
import math

import pytest
import torch

from langneurons.errors import ConfigError, FormatError, ShapeMismatchError
from langneurons.neurons import sets, vector_set
from langneurons.neurons.controls import control_draw
from langneurons.neurons.identification import identify, neuron_method
from langneurons.neurons.statistics import check, with_tensors
from tests.synthetic import synthetic_stats

GOOD = {
    "format": "langneurons.vector_set/1",
    "model": {
        "name": "m",
        "source": None,
        "revision": None,
        "architecture": "LlamaForCausalLM",
        "num_layers": 4,
        "neurons_per_layer": 10,
    },
    "site": "model.layers.{i}",
    "hidden_size": 3,
    "method": {"name": "diffmean", "params": {}},
    "statistics": None,
    "languages": {"zh": {"2": [1.0, -2.0, 0.5]}, "ja": {"2": [0.0, 1.0, 0.0], "3": [3, 4, 0]}},
}


def changed(language_layers):
    data = copy.deepcopy(GOOD)
    data["languages"]["zh"] = language_layers
    return data


def test_round_trip_is_exact_and_the_hash_stable(tmp_path):
    loaded = vector_set.from_dict(GOOD)
    path = tmp_path / "v.json"
    vector_set.dump(loaded, path)
    again = sets.load(path)
    assert again == loaded and again.sha256() == loaded.sha256()
    assert loaded.count("ja") == 2 and loaded.counts_per_layer("ja") == [0, 0, 1, 1]
    assert loaded.norms("ja") == {2: 1.0, 3: 5.0}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (changed({"2": [1.0, 2.0]}), r"2 numbers; the hidden size is 3"),
        (changed({"2": [0, 0, 0]}), "a zero vector has no direction"),
        (changed({"02": [1, 2, 3]}), "must be written '2'"),
        (changed({"4": [1, 2, 3]}), "out of range 0..3"),
        (changed({"2": [1, True, 3]}), "a list of finite numbers"),
        (changed({"2": [1, "2", 3]}), "a list of finite numbers"),
        (changed({"\u00b2": [1, 2, 3]}), "layer '\u00b2' is out of range"),  # isdigit, not ASCII
        (changed({"2": [1, 10**400, 3]}), "below 3.4e\\+38 in size"),  # no OverflowError
        (changed({"2": [1, 1e39, 3]}), "below 3.4e\\+38 in size"),  # inf in float32
        (changed({"2": [3e38, 3e38, 3e38]}), "its norm is above 3.4e\\+38; rescale the set"),
        ({**GOOD, "hidden_size": 0}, "hidden_size must be a positive integer"),
        ({**GOOD, "extra": 1}, "unknown key 'extra'"),
        ({k: v for k, v in GOOD.items() if k != "hidden_size"}, "missing key 'hidden_size'"),
    ],
)
def test_bad_files_are_refused_in_one_line(data, message):
    with pytest.raises(FormatError, match=message) as error:
        vector_set.from_dict(data)
    assert "\n" not in str(error.value)


def test_an_unknown_language_is_refused():
    with pytest.raises(ConfigError, match="unknown language 'xx'"):
        vector_set.from_dict({**GOOD, "languages": {"xx": {}}})


def test_nan_in_a_file_is_refused(tmp_path):
    path = tmp_path / "v.json"
    path.write_text(json.dumps(GOOD).replace("-2.0", "NaN"))
    with pytest.raises(FormatError):
        sets.load(path)


def test_a_file_of_another_format_names_both_readable_formats(tmp_path):
    path = tmp_path / "v.json"
    path.write_text(json.dumps({**GOOD, "format": "langneurons.results/3"}))
    with pytest.raises(
        FormatError, match="reads langneurons.neuron_set/1 and langneurons.vector_set/1"
    ):
        sets.load(path)


def test_a_vector_set_of_another_shape_is_refused_before_the_model_loads():
    with pytest.raises(ShapeMismatchError, match="made for m"):
        sets.check_compatible(vector_set.from_dict(GOOD), (5, 10), "v.json", "other")
    sets.check_compatible(vector_set.from_dict(GOOD), (4, 10), "v.json", "m")


def test_control_draws_are_random_directions_of_the_same_norms_reproducibly():
    chosen = vector_set.from_dict(GOOD)
    first, again, second = (control_draw(chosen, 0, d) for d in (0, 0, 1))
    assert first == again and first != second
    for lang in chosen.languages:
        assert set(first.languages[lang]) == set(chosen.languages[lang])
        for layer, norm in chosen.norms(lang).items():
            assert first.norms(lang)[layer] == pytest.approx(norm)
            assert first.languages[lang][layer] != chosen.languages[lang][layer]
    assert first.method.name == "random" and first.method.params["of"] == chosen.sha256()


def residual_stats(means, tokens):
    """Statistics of K languages whose residual means are ``means`` [K, layers, hidden]."""
    k, layers, _ = means.shape
    languages = ["en", "de", "fr", "zh"][:k]
    stats = synthetic_stats(torch.zeros(k, layers, 6), tokens, languages)
    counts = torch.tensor(tokens, dtype=torch.float64)[:, None, None]
    return with_tensors(stats, {"residual_sums": means * counts})


def test_diffmean_is_each_language_mean_less_the_others_mean_at_the_chosen_layer():
    torch.manual_seed(0)
    means = torch.randn(4, 5, 7, dtype=torch.float64)
    found = identify("diffmean", residual_stats(means, [10, 20, 30, 40]), {"alpha": 2.0})
    assert found.method.params == {"depth": 0.5, "alpha": 2.0, "layer": 2}
    for k, lang in enumerate(found.languages):
        others = (means[:, 2].sum(0) - means[k, 2]) / 3
        expected = 2.0 * (means[k, 2] - others)
        assert list(found.languages[lang]) == [2]
        torch.testing.assert_close(
            torch.tensor(found.languages[lang][2], dtype=torch.float64), expected
        )
    # the target-minus-source direction of CLaS-Bench, scaled K / (K - 1)
    steer = torch.tensor(found.languages["de"][2], dtype=torch.float64) - torch.tensor(
        found.languages["en"][2], dtype=torch.float64
    )
    torch.testing.assert_close(steer, 2.0 * 4 / 3 * (means[1, 2] - means[0, 2]))
    assert found.site == "model.layers.{i}" and found.hidden_size == 7


def test_diffmean_records_the_split_half_cosine_of_its_vectors():
    torch.manual_seed(1)
    means = torch.randn(3, 4, 5, dtype=torch.float64)
    stats = residual_stats(means, [10, 10, 10])
    half = {
        "half_tokens": torch.tensor([5, 5, 5]),
        "half_over_zero": stats.over_zero // 2,
        "half_sums": stats.sums,
        "half_sums_sq": stats.sums_sq,
        "half_residual_sums": stats.residual_sums / 2,  # each half has the same means
    }
    stats = with_tensors(stats, half)
    check(stats, "synthetic")
    found = identify("diffmean", stats)
    assert found.statistics.split_half_cosine == {lang: 1.0 for lang in stats.languages}


def test_diffmean_needs_residual_sums_and_two_languages():
    stats = synthetic_stats(torch.zeros(2, 3, 4), [5, 5], ["en", "de"])
    with pytest.raises(FormatError, match="no residual sums"):
        identify("diffmean", stats)
    one = residual_stats(torch.ones(1, 3, 4, dtype=torch.float64), [5])
    with pytest.raises(ConfigError, match="two languages at least"):
        identify("diffmean", one)


def test_a_vector_method_is_no_reference_for_neuron_counts():
    with pytest.raises(ConfigError, match="'diffmean' makes vectors, not neurons"):
        neuron_method("diffmean", "method 'random', like")


def test_statistics_refuse_residual_sums_of_the_wrong_shape_or_non_finite():
    stats = residual_stats(torch.ones(2, 3, 4, dtype=torch.float64), [5, 5])
    with pytest.raises(FormatError, match="residual_sums is"):
        check(with_tensors(stats, {"residual_sums": torch.ones(2, 2, 4, dtype=torch.float64)}), "s")
    bad = stats.residual_sums.clone()
    bad[0, 0, 0] = math.inf
    with pytest.raises(FormatError, match="finite"):
        check(with_tensors(stats, {"residual_sums": bad}), "s")


def test_a_control_keeps_the_length_of_every_steering_shift_and_turns_it():
    """Steering adds v_T - v_S: its control must add a random direction of that norm."""
    torch.manual_seed(2)
    means = torch.randn(4, 3, 64, dtype=torch.float64)
    chosen = identify("diffmean", residual_stats(means, [10, 20, 30, 40]))
    layer = next(iter(chosen.languages["en"]))

    def vector(found, lang):
        return torch.tensor(found.languages[lang][layer], dtype=torch.float64)

    cosines = []
    for draw_index in range(5):
        control = control_draw(chosen, 0, draw_index)
        for target, source in (("de", "en"), ("zh", "fr"), ("en", "zh")):
            shift = vector(chosen, target) - vector(chosen, source)
            turned = vector(control, target) - vector(control, source)
            assert turned.norm() == pytest.approx(float(shift.norm()), rel=1e-12)
            cosines.append(float(torch.nn.functional.cosine_similarity(turned, shift, dim=0)))
    # random directions in 64 dimensions: nearly orthogonal to the real shift
    assert max(abs(c) for c in cosines) < 0.6 and abs(sum(cosines) / len(cosines)) < 0.2


def test_a_vector_set_of_another_residual_width_is_refused_before_the_model_loads():
    with pytest.raises(ShapeMismatchError, match="vectors of 3 numbers; .* is 5 wide"):
        sets.check_compatible(vector_set.from_dict(GOOD), (4, 10), "v.json", "m", hidden=5)
    sets.check_compatible(vector_set.from_dict(GOOD), (4, 10), "v.json", "m", hidden=3)
