"""Bad input files fail in one line naming the file and what to do, before expensive work.

Duplicate keys, NaN, non-UTF-8 and binary files; booleans and floats where integers
are expected; neuron-set headers of the wrong type; path templates that would read
one file for two things; token budgets the text cannot meet; sets that share a name
in ``compare``; truncated or foreign statistics and published files; model folders
edited in place.
"""

import copy
import json
import re
import shutil
from pathlib import Path

import pytest
import torch

from langneurons.errors import ConfigError, FormatError
from langneurons.input_files import load_json, parse_json, parse_yaml, read_text
from langneurons.models.handle import resolve_model
from langneurons.neurons import importers, neuron_set, statistics
from langneurons.neurons.comparison import labels
from langneurons.records import ModelIdentity
from langneurons.report import results
from langneurons.run.cli import main
from langneurons.tasks.spec import load_task
from langneurons.text.corpus import CorpusSpec, check_source, paragraphs
from langneurons.text.windows import check_budget, windows
from tests.synthetic import synthetic_stats, tiny_tokenizer
from tests.unit.test_neuron_set import GOOD as GOOD_SET
from tests.unit.test_results import MINIMAL as MINIMAL_RESULTS

ROOT = Path(__file__).resolve().parents[2]
ABLATION = (ROOT / "tasks" / "ablation_perplexity.yaml").read_text()


def task_file(tmp_path, text, name="task.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def one_line_error(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("langneurons: error: ") and err.count("\n") == 1, err
    return err


# --- one strict reader: duplicate keys, NaN, encodings --------------------------------


def test_task_file_with_a_duplicate_key_names_key_line_and_file(tmp_path):
    path = task_file(tmp_path, ABLATION + "window: 64\n")
    last, first = len(ABLATION.splitlines()) + 1, ABLATION.splitlines().index("window: 64") + 1
    match = rf"task.yaml: line {last}: duplicate key 'window' \(first on line {first};"
    with pytest.raises(ConfigError, match=match):
        load_task(path)


def test_duplicate_key_in_a_nested_flow_mapping_is_found(tmp_path):
    text = ABLATION.replace("  seed: 0", "  seed: 0\n  seed: 1")
    with pytest.raises(ConfigError, match="duplicate key 'seed' \\(first on line"):
        load_task(task_file(tmp_path, text))
    with pytest.raises(ConfigError, match="duplicate key 'a'"):
        parse_yaml("x: {a: 1, a: 2}\n", "f.yaml")


def test_yaml_merge_keys_may_still_be_overridden():
    data = parse_yaml("base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  x: 3\n", "f.yaml")
    assert data["c"] == {"x": 3, "y": 2}


def test_yaml_nan_is_not_a_threshold(tmp_path):
    text = ABLATION.replace("min_own_ratio: 1.5", "min_own_ratio: .nan")
    with pytest.raises(ConfigError, match="'.nan' is not a finite number"):
        load_task(task_file(tmp_path, text))


def test_neuron_set_with_a_duplicate_key_names_key_and_file(tmp_path):
    path = tmp_path / "set.json"
    text = json.dumps(GOOD_SET).replace('"site":', '"site": "x", "site":')
    path.write_text(text)
    with pytest.raises(FormatError, match=r"neuron set .*set.json: duplicate key 'site'"):
        neuron_set.load(path)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_json_rejects_non_finite_numbers_naming_the_key(literal):
    with pytest.raises(FormatError, match=f"r.json: 'ppl' has {literal}"):
        parse_json('{"metrics": {"ppl": ' + literal + "}}", "r.json")
    with pytest.raises(FormatError, match=f"'curve' has {literal}"):
        parse_json('{"curve": [1.0, [2.0, ' + literal + "]]}", "r.json")


def test_results_file_with_a_duplicate_key_or_nan_is_rejected(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(json.dumps(MINIMAL_RESULTS).replace('"tasks":', '"seeds": {}, "tasks":'))
    with pytest.raises(FormatError, match="results file .*r.json: duplicate key 'seeds'"):
        results.load(path)
    data = copy.deepcopy(MINIMAL_RESULTS)
    data["timings"]["wall"] = float("nan")
    path.write_text(json.dumps(data))
    with pytest.raises(FormatError, match="'wall' has NaN"):
        results.load(path)


def test_submission_with_a_duplicate_key_is_rejected(tmp_path):
    from langneurons.report.submission import SubmissionError, submit
    from tests.leaderboard_files import TASKS, results_file

    path = results_file(tmp_path)
    path.write_text(path.read_text().replace('"format":', '"command": "x", "format":', 1))
    with pytest.raises(SubmissionError, match="duplicate key 'command'"):
        submit(path, tmp_path / "board", TASKS)
    assert not (tmp_path / "board").exists()


def test_non_utf8_binary_and_utf16_files_are_named(tmp_path):
    latin = tmp_path / "latin.txt"
    latin.write_bytes("Grüße".encode("latin-1"))
    with pytest.raises(FormatError, match=r"latin.txt is not UTF-8 text \(byte 0xfc at offset 2\)"):
        read_text(latin, "text data")
    binary = tmp_path / "weights.bin"
    binary.write_bytes(b"PK\x03\x04\x00\x00\x01")
    with pytest.raises(FormatError, match=r"binary file, not text \(NUL byte at offset 4\)"):
        load_json(binary, "neuron set")
    wide = tmp_path / "wide.txt"
    wide.write_bytes("hello".encode("utf-16"))
    with pytest.raises(FormatError, match="is UTF-16 text; save it as UTF-8"):
        read_text(wide, "text data")
    bom = tmp_path / "bom.json"
    bom.write_bytes(b'\xef\xbb\xbf{"a": 1}')
    assert load_json(bom, "file") == {"a": 1}


def test_non_utf8_task_file_and_text_source_fail_in_one_line(tmp_path):
    path = tmp_path / "task.yaml"
    path.write_bytes(ABLATION.encode() + "description: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"task file .*task.yaml is not UTF-8 text \(byte 0xe9"):
        load_task(path)
    (tmp_path / "de.evaluate.txt").write_bytes("Gr\xfc\xdfe".encode("latin-1"))
    spec = CorpusSpec("text", str(tmp_path / "{lang}.{split}.txt"))
    with pytest.raises(FormatError, match=r"de.evaluate.txt is not UTF-8 text \(byte 0xfc"):
        paragraphs(spec, "de", "evaluate")


def test_jsonl_lines_are_read_strictly(tmp_path):
    spec = CorpusSpec("jsonl", str(tmp_path / "{lang}.{split}.jsonl"))
    (tmp_path / "de.evaluate.jsonl").write_text('{"text": "eins"}\n{"text": "a", "text": "b"}\n')
    with pytest.raises(FormatError, match=r"de.evaluate.jsonl:2: duplicate key 'text'"):
        paragraphs(spec, "de", "evaluate")
    (tmp_path / "de.evaluate.jsonl").write_text('{"text": 5}\n')
    with pytest.raises(FormatError, match=r"jsonl:1: expected a JSON object with a 'text' field"):
        paragraphs(spec, "de", "evaluate")
    (tmp_path / "de.evaluate.jsonl").write_text('{"text": "a\u2028b"}\n')
    assert paragraphs(spec, "de", "evaluate") == ["a\u2028b"]


# --- strict numbers --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("tokens_per_language: 512", "tokens_per_language: true", "tokens_per_language: .*True"),
        ("window: 64", "window: 64.0", r"window: Input should be a valid integer \(got 64.0\)"),
        ("min_own_ratio: 1.5", "min_own_ratio: true", r"checks.min_own_ratio: .*\(got True\)"),
        ("version: 3", "version: 1.5", "version: Input should be a valid integer"),
        ("  seed: 0", "  seed: false", "control.seed: .*got False"),
    ],
)
def test_task_numbers_are_strict(tmp_path, old, new, message):
    with pytest.raises(ConfigError, match=message):
        load_task(task_file(tmp_path, ABLATION.replace(old, new)))


def test_integers_still_count_as_floats(tmp_path):
    task = load_task(
        task_file(tmp_path, ABLATION.replace("min_own_ratio: 1.5", "min_own_ratio: 2"))
    )
    assert task.fields.checks.min_own_ratio == 2.0
    assert isinstance(task.fields.checks.min_own_ratio, float)


def changed_set(path, value):
    data = copy.deepcopy(GOOD_SET)
    target = data
    *parents, last = path.split(".")
    for key in parents:
        target = target[key]
    target[last] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            "model.num_layers",
            True,
            r"model.num_layers: Input should be a valid integer \(got True\)",
        ),
        ("model.neurons_per_layer", 10.0, "model.neurons_per_layer: .*got 10.0"),
        ("model.num_layers", 0, "model.num_layers: Input should be greater than 0"),
        ("model.name", None, "model.name: Input should be a valid string"),
        ("model.dtype", "x", r"model: unknown key 'dtype' \(allowed: name, source"),
        ("method", "lape", "method must be an object, got str 'lape'"),
        ("method.params", [1], "method.params: Input should be a valid dictionary"),
        ("method.name", 3, "method.name: Input should be a valid string"),
        ("statistics", "udhr", "statistics must be an object, got str"),
        ("statistics", {"corpus": "udhr"}, "statistics: missing key 'sha256'"),
        (
            "statistics",
            {"corpus": None, "sha256": None, "tokens": {"en": 1.5}},
            "statistics.tokens.en: Input should be a valid integer",
        ),
        ("site", 7, "site must be a string"),
        ("languages", [], "languages must be an object"),
        ("languages.zh.0", [1.0], "expected a list of integers"),
        ("languages.zh.0", [True], "expected a list of integers"),
        ("languages.zh.01", [2], "layer '01' must be written '1'"),
    ],
)
def test_neuron_set_header_and_indices_are_checked_at_load(path, value, message):
    with pytest.raises(FormatError, match=message):
        neuron_set.from_dict(changed_set(path, value), "s.json")


def test_a_set_with_a_method_string_fails_at_load_not_at_the_end(tmp_path):
    path = tmp_path / "set.json"
    path.write_text(json.dumps(changed_set("method", "lape")))
    with pytest.raises(FormatError, match="set.json: method must be an object"):
        neuron_set.load(path)


# --- path templates --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("data/{lang}.txt", r"has no \{split\}: identification and evaluation would read the same"),
        ("data/{split}.txt", r"has no \{lang\}: every language would read the same file"),
        (
            "data/{lang}.{split}.{kind}.txt",
            r"unknown field \{kind\} \(allowed: \{lang\}, \{split\}\)",
        ),
        ("data/{lang.txt", "expected '}' before end of string"),
    ],
)
def test_local_source_templates_are_checked_when_the_task_is_read(tmp_path, template, message):
    text = ABLATION.replace("source: libreoffice-help", f"source: text\n  path: {template}")
    with pytest.raises(ConfigError, match=message):
        load_task(task_file(tmp_path, text))
    with pytest.raises(ConfigError, match=message):
        check_source(CorpusSpec("jsonl", template))


def test_import_stats_needs_lang_with_several_languages(tmp_path, capsys):
    out = tmp_path / "s.safetensors"
    common = ["--languages", "en,de", "--model", "m", "--shape", "2x4", "--out", str(out)]
    err = one_line_error(capsys, ["import-stats", "--full", str(tmp_path / "a.pt"), *common])
    assert "--full" in err and "has no {lang}: all 2 languages would read that one file" in err
    err = one_line_error(
        capsys, ["import-stats", "--full", str(tmp_path / "{lang}.{model}.pt"), *common]
    )
    assert "unknown field {model} (allowed: {lang})" in err
    assert not out.exists()


def test_import_stats_with_one_language_may_name_one_file(tmp_path):
    torch.save(
        {"total_tokens": 5, "over_zero": torch.ones(2, 4, dtype=torch.int64)}, tmp_path / "a.pt"
    )
    model = ModelIdentity(name="m", num_layers=2, neurons_per_layer=4)
    stats = importers.import_counts(str(tmp_path / "a.pt"), None, ["en"], model, "s")
    assert stats.tokens.tolist() == [5]


# --- token budget ----------------------------------------------------------------------


def test_a_budget_the_text_cannot_meet_is_an_error_naming_both_counts():
    tokenizer = tiny_tokenizer()
    text = ["Alle Menschen sind frei."]
    available = sum(w.text_tokens for w in windows(tokenizer, text, window=8))
    where = "task 'tiny': de (text, evaluate)"
    with pytest.raises(
        ConfigError,
        match=rf"task 'tiny': de \(text, evaluate\) has {available} tokens, fewer than the 32",
    ):
        windows(tokenizer, text, window=8, max_tokens=32, where=where)
    with pytest.raises(ConfigError, match=f"has {available} tokens, fewer than the 32 asked for"):
        check_budget(tokenizer, text, 32, where)
    check_budget(tokenizer, text, available, where)
    assert sum(w.text_tokens for w in windows(tokenizer, text, 8, available)) == available


# --- compare labels --------------------------------------------------------------------


def test_compare_labels_sets_by_the_shortest_distinguishing_suffix(tmp_path):
    paths = [tmp_path / "a" / "x" / "lape.json", tmp_path / "b" / "x" / "lape.json"]
    paths.append(tmp_path / "c" / "random.json")
    assert labels(paths) == ["a/x/lape", "b/x/lape", "random"]
    with pytest.raises(ConfigError, match="is given twice"):
        labels([paths[0], paths[0]])


def test_compare_prints_a_row_per_set_when_stems_collide(tmp_path, capsys):
    paths = []
    for top in ("a", "b"):
        folder = tmp_path / top / "x"
        folder.mkdir(parents=True)
        paths.append(folder / "lape.json")
        paths[-1].write_text(json.dumps(GOOD_SET))
    assert main(["compare", *map(str, paths)]) == 0
    out = capsys.readouterr().out
    assert "a/x/lape ~ b/x/lape" in out
    first_table = out.split("\n\n")[0]
    assert "a/x/lape" in first_table and "b/x/lape" in first_table


# --- statistics and published files ----------------------------------------------------


def small_stats(tokens=(10, 10)):
    over_zero = torch.tensor([[[1, 2, 3]], [[4, 5, 6]]])
    return synthetic_stats(over_zero, list(tokens), ["en", "de"])


def test_truncated_and_foreign_statistics_are_one_line(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "s.safetensors"
    statistics.save(small_stats(), path)
    assert statistics.load(path).tokens.tolist() == [10, 10]
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(FormatError, match="not a readable safetensors file .*truncated"):
        statistics.load(path)
    path.write_text("not safetensors at all")
    with pytest.raises(FormatError, match="not a readable safetensors file"):
        statistics.load(path)
    save_file({"weight": torch.zeros(3)}, str(path))
    with pytest.raises(FormatError, match="has format None; this version reads"):
        statistics.load(path)


def test_statistics_counts_above_the_token_count_are_rejected(tmp_path):
    path = tmp_path / "s.safetensors"
    statistics.save(small_stats(tokens=(10, 5)), path)
    with pytest.raises(
        FormatError, match="over_zero of 'de' is 6 at layer 0 neuron 2, more than its 5 tokens"
    ):
        statistics.load(path)


def test_statistics_with_tensors_of_other_shapes_are_rejected(tmp_path):
    stats = small_stats()
    stats = type(stats)(
        stats.languages, stats.tokens[:1], stats.over_zero, None, None, stats.provenance
    )
    with pytest.raises(FormatError, match=r"tokens is \(1,\); with 2 languages"):
        statistics.check(stats, "s")


def test_published_counts_above_total_tokens_or_foreign_files_are_one_line(tmp_path):
    model = ModelIdentity(name="m", num_layers=2, neurons_per_layer=4)
    torch.save({"total_tokens": 3, "over_zero": torch.full((2, 4), 9)}, tmp_path / "en.pt")
    with pytest.raises(FormatError, match="en.pt: over_zero reaches 9 but total_tokens is 3"):
        importers.import_counts(str(tmp_path / "{lang}.pt"), None, ["en"], model, "s")
    torch.save({"total_tokens": 3.5, "over_zero": torch.ones(2, 4)}, tmp_path / "en.pt")
    with pytest.raises(FormatError, match="total_tokens must be a non-negative integer"):
        importers.import_counts(str(tmp_path / "{lang}.pt"), None, ["en"], model, "s")
    (tmp_path / "en.pt").write_bytes(b"truncated garbage")
    with pytest.raises(FormatError, match=r"en.pt: not a torch.save file .*\(\w+Error: "):
        importers.import_counts(str(tmp_path / "{lang}.pt"), None, ["en"], model, "s")


@pytest.mark.parametrize(
    ("lists", "message"),
    [
        (
            [[torch.tensor([[1, 2]]), torch.tensor([3])]] * 2,
            r"en layer 0: expected a 1-D tensor of neuron indices, got shape \(1, 2\)",
        ),
        (
            [[torch.tensor([1]), torch.tensor([2])], [torch.tensor([1])]],
            "layers per language are en 2, de 1; the model has 2",
        ),
        (
            [[torch.tensor([1.7]), torch.tensor([2])]] * 2,
            "en layer 0: expected integer neuron indices, got torch.float32",
        ),
        ([[[1], [2]]] * 2, "en layer 0: expected a tensor of neuron indices, got list"),
        ("not a list", r"expected List\[List\[LongTensor\]\]"),
    ],
)
def test_import_neurons_bad_layouts_are_one_line(tmp_path, capsys, lists, message):
    path = tmp_path / "set.pth"
    torch.save(lists, path)
    out = tmp_path / "out.json"
    argv = ["import-neurons", str(path), "--languages", "en,de", "--model", "m", "--shape", "2x8"]
    err = one_line_error(capsys, [*argv, "--out", str(out)])
    assert re.search(message, err), err
    assert not out.exists()


def test_import_neurons_of_a_truncated_file_is_one_line(tmp_path, capsys):
    path = tmp_path / "set.pth"
    torch.save([[torch.tensor([1])]], path)
    path.write_bytes(path.read_bytes()[:40])
    argv = ["import-neurons", str(path), "--languages", "en", "--model", "m", "--shape", "1x8"]
    err = one_line_error(capsys, [*argv, "--out", str(tmp_path / "o.json")])
    assert "not a torch.save file of lists of tensors" in err


# --- the statistics cache key follows the weights' content -----------------------------


def test_editing_weights_in_place_changes_the_revision(tiny_model_folder, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_folder, folder)
    before = resolve_model(str(folder)).revision
    weights = next(folder.glob("*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # same size, same name, other content
    weights.write_bytes(bytes(data))
    after = resolve_model(str(folder)).revision
    assert before != after and after.startswith("local-sha256:")
    (folder / "README.md").write_text("notes")
    assert resolve_model(str(folder)).revision == after
