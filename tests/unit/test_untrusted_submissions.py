"""A submitted results file is untrusted: its strings are escaped, its claims recomputed.

The files start from an entry the repository's leaderboard holds (consistent with
the shipped tasks), changed and re-hashed: the sha256 is no signature, so every
check here must hold for a file whose hash matches.
"""

import json
import re

import pytest

from langneurons.report import leaderboard, results
from langneurons.report.submission import NAME_LIMIT, SubmissionError, check_filed, submit
from tests.leaderboard_files import ROOT, TASKS

FILED = sorted((ROOT / "leaderboard" / "submissions").glob("*/*.json"))
#: the entry the tampering tests edit: gemma's LAPE, whose cells they know
HONEST = next(p for p in FILED if p.parent.name == "gemma-3-270m" and p.name.startswith("lape-"))


def entry(folder, change=None, source=None, rehash=True):
    """A copy of a filed entry with ``change`` applied to its JSON and (by default) re-hashed."""
    data = json.loads((source or HONEST).read_text())
    if change is not None:
        change(data)
    if rehash:
        data["sha256"] = results.content_sha256(data)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "submitted.json"
    path.write_text(json.dumps(data, ensure_ascii=False))
    return path


def everything(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def refused(tmp_path, change, match, rehash=True):
    """Submit the changed entry; assert it is refused with ``match`` and nothing is written."""
    path = entry(tmp_path / "in", change, rehash=rehash)
    before = everything(tmp_path)
    with pytest.raises(SubmissionError, match=match) as error:
        submit(path, tmp_path / "board", TASKS)
    assert everything(tmp_path) == before
    return str(error.value).splitlines()


def task(data, kind):
    return next(t for t in data["tasks"] if t["kind"] == kind)


def test_a_filed_entry_resubmitted_elsewhere_is_accepted(tmp_path):
    path = entry(tmp_path / "in")
    destination = submit(path, tmp_path / "board", TASKS)
    assert destination.read_bytes() == path.read_bytes()
    assert destination.parent.parent == tmp_path / "board" / "submissions"


# -- names that would place a file elsewhere ---------------------------------------------------


@pytest.mark.parametrize(
    "name", ["..", ".", "", "  ", "...", "-._", "模型", "\u2028", "a" * (NAME_LIMIT + 1)]
)
def test_a_model_name_that_names_no_file_is_refused(tmp_path, name):
    lines = refused(tmp_path, lambda d: d["model"].update(name=name), "model.name")
    assert len(lines) == 1


@pytest.mark.parametrize(
    ("name", "folder"),
    [
        ("../../outside", "outside"),
        ("/etc/cron.d/x", "etc-cron.d-x"),
        ("..\\..\\x", "x"),
        ("google/gemma-3-270m", "google-gemma-3-270m"),
        (".hidden", "hidden"),
        ("ünï/../cödé", "n-..-c-d"),  # one segment: never a step up,
    ],
)
def test_a_model_name_is_one_folder_inside_submissions(tmp_path, name, folder):
    board = tmp_path / "board"
    destination = submit(
        entry(tmp_path / "in", lambda d: d["model"].update(name=name)), board, TASKS
    )
    root = (board / "submissions").resolve()
    assert destination.resolve().parent == root / folder
    assert everything(tmp_path / "board") == [f"submissions/{folder}/{destination.name}"]


@pytest.mark.parametrize(
    ("where", "change"),
    [
        ("neuron_set.method.name", lambda d: d["neuron_set"]["method"].update(name="..")),
        ("neuron_set.method.name", lambda d: d["neuron_set"]["method"].update(name={"x": 1})),
        ("model.name", lambda d: d["model"].pop("name")),
        ("neuron_set.sha256", lambda d: d["neuron_set"].update(sha256="/../../../../" + "a" * 52)),
        ("neuron_set.sha256", lambda d: d["neuron_set"].update(sha256="A" * 64)),
    ],
)
def test_other_strings_in_the_file_name_are_checked(tmp_path, where, change):
    assert len(refused(tmp_path, change, re.escape(where))) == 1


def test_a_model_folder_that_is_a_link_out_of_submissions_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    name = json.loads(HONEST.read_text())["model"]["name"]
    (tmp_path / "board" / "submissions").mkdir(parents=True)
    (tmp_path / "board" / "submissions" / name).symlink_to(outside, target_is_directory=True)
    with pytest.raises(SubmissionError, match="resolves to .* outside .*submissions"):
        submit(entry(tmp_path / "in"), tmp_path / "board", TASKS)
    assert list(outside.iterdir()) == []


# -- strings in the pages ----------------------------------------------------------------------

HOSTILE = {
    "model": "</script><script>document.body.remove()</script>",
    "method": "<!--<img src=x onerror=alert(1)>",
    "command": "pytest a|b `c`\n| x | y |\u2028&amp; {{TITLE}} {{DATA}}",
    "version": "1.0 | <b>",
}


def hostile(data):
    data["model"]["name"] = HOSTILE["model"]
    data["neuron_set"]["method"]["name"] = HOSTILE["method"]
    data["command"] = HOSTILE["command"]
    data["environment"]["langneurons"] = HOSTILE["version"]


def test_hostile_strings_stay_inside_the_pages_json(tmp_path):
    board = tmp_path / "board"
    submit(entry(tmp_path / "in", hostile), board, TASKS)
    page = leaderboard.pages(board)["index.html"]
    template = (ROOT / "langneurons" / "report" / "leaderboard.html").read_text()
    assert page.count("<script") == template.count("<script")
    assert page.count("</script>") == template.count("</script>")
    payload = page.split('id="data">')[1].split("</script>")[0]
    assert not set(payload) & {"<", ">", "&", "\u2028", "\u2029"}
    row = json.loads(payload)["rows"][0]
    assert (row["model"], row["method"], row["command"], row["version"]) == (
        HOSTILE["model"],
        HOSTILE["method"],
        HOSTILE["command"],
        HOSTILE["version"],
    )
    assert "<title>langneurons leaderboard</title>" in page


def test_the_page_draws_text_with_text_content_only():
    template = (ROOT / "langneurons" / "report" / "leaderboard.html").read_text()
    assert "innerHTML" not in template and "outerHTML" not in template
    assert "insertAdjacentHTML" not in template and "document.write" not in template


def test_hostile_strings_keep_the_markdown_table_one_row_of_the_same_columns(tmp_path):
    board = tmp_path / "board"
    submit(entry(tmp_path / "in", hostile), board, TASKS)
    text = leaderboard.pages(board)["README.md"]
    entries, models = text.split("## Models")  # the entries' table, then the models'
    for part in (entries, models):  # each: a header, a rule and one row of its columns
        header, _, *rows = [line for line in part.splitlines() if line.startswith("|")]
        assert len(rows) == 1
        columns = len(re.split(r"(?<!\\)\|", header))
        assert len(re.split(r"(?<!\\)\|", rows[0])) == columns
    rows = [line for line in entries.splitlines() if line.startswith("|")][2:]
    assert "<" not in rows[0].replace("\\<", "")
    assert "& " not in rows[0].replace("\\&", "")
    assert "``pytest a\\|b `c` \\| x \\| y \\| &amp; {{TITLE}} {{DATA}}``" in rows[0]


def test_markdown_escapes_are_one_function_per_output():
    assert leaderboard.markdown_text("a|b\nc_d*e") == "a\\|b c_d\\*e"
    assert leaderboard.markdown_text("_x_ <b>&") == "\\_x\\_ \\<b\\>\\&"
    assert leaderboard.markdown_code("x `y` z") == "``x `y` z``"
    assert leaderboard.markdown_code("`x") == "`` `x ``"
    assert leaderboard.script_json({"a": "</script>\u2029&"}) == (
        '{"a": "\\u003c/script\\u003e\\u2029\\u0026"}'
    )
    with pytest.raises(ValueError):
        leaderboard.script_json({"a": float("nan")})


# -- claims are recomputed ---------------------------------------------------------------------


def test_an_edited_summary_is_refused_even_with_a_matching_hash(tmp_path):
    def change(data):
        task(data, "ablation")["summary"]["specificity"] += 1.0

    lines = refused(tmp_path, change, "summary 'specificity' is .*its cells give")
    assert len(lines) == 1 and "ablation_perplexity" in lines[0]


def test_an_edited_metric_no_longer_matches_the_summary(tmp_path):
    def change(data):
        cell = task(data, "downstream")["cells"][0]  # ablate[en]-eval[en], own drop 0.000 < 0.1
        cell["metrics"]["drop"] += 0.5

    lines = refused(tmp_path, change, "task 'downstream': summary 'specificity'")
    assert len(lines) == 3  # and neither its failures nor its units give it
    assert "cell 'ablate[en]-eval[en]': failed (" in lines[0] and "pass every check" in lines[0]
    assert "cell 'ablate[en]-eval[en]': metric 'drop' is 0.5; its units give 0" in lines[1]


def test_edited_units_no_longer_give_the_headline_interval_claimed(tmp_path):
    def change(
        data,
    ):  # a window's ablated NLL halved: the interval the file claims no longer follows
        cell = task(data, "ablation")["cells"][0]
        cell["units"]["nll_ablated"][0] /= 2

    lines = refused(tmp_path, change, "task 'ablation_perplexity': summary 'specificity_")
    summary = [line for line in lines if "summary" in line]
    assert summary and all(
        "'specificity_lo'" in line or "'specificity_hi'" in line for line in summary
    )
    # and the cell's own ratio and its interval no longer follow from its units either
    assert any("cell 'ablate[en]-eval[en]': metric 'ratio' is" in line for line in lines)


@pytest.mark.parametrize(
    ("edit", "reason", "lines"),
    [
        (lambda units: units["tokens"].pop(), "units of unequal lengths \\(tokens 7, nll 8", 1),
        (lambda units: units.pop("nll_ablated"), "cannot recompute the summary", 3),
        (lambda units: units.clear() or units.update(tokens=[]), "cannot recompute the summary", 3),
    ],
    ids=["short", "missing", "empty"],
)
def test_inconsistent_units_are_a_line_per_cell_that_reads_them(tmp_path, edit, reason, lines):
    def change(data):
        edit(task(data, "ablation")["cells"][4]["units"])  # ablate[en]-eval[ru]

    found = refused(tmp_path, change, reason)
    assert len(found) == lines
    if lines > 1:  # the cell, and the diagonal cell whose others' mean reads its units
        for cell in ("ablate[en]-eval[ru]", "ablate[en]-eval[en]"):
            assert any(
                f"cell '{cell}': cannot recompute its metrics from its units" in f for f in found
            )


def test_summary_keys_must_be_the_kinds(tmp_path):
    def change(data):
        summary = task(data, "steering")["summary"]
        summary.pop("cells")
        summary["bonus"] = 1.0

    lines = refused(tmp_path, change, "summary")
    assert any("lacks 'cells'" in line for line in lines)
    assert any("has 'bonus'" in line for line in lines)
    assert len(lines) == 2


@pytest.mark.parametrize(
    "change",
    [
        lambda c: c.update(passed=not c["passed"]),
        lambda c: c.update(failures=[], passed=False),
        lambda c: c.update(failures=["own ratio 1.0 < 1.5"], passed=True),
    ],
    ids=["flipped", "failed-without-reason", "passed-with-failures"],
)
def test_passed_must_agree_with_failures(tmp_path, change):
    # results.py's reader refuses it, before any recomputation
    reason = "passed must be true exactly when failures is empty"
    lines = refused(tmp_path, lambda d: change(task(d, "ablation")["cells"][0]), reason)
    assert len(lines) == 1


def summary_agreeing(record):
    """Set ``record``'s summary to what its kind computes from its (forged) cells."""
    task = results.TaskRecord.model_validate(record)
    record["summary"] = leaderboard.summary_of(task, leaderboard.spec_of(task))


@pytest.mark.parametrize("kind", ["ablation", "downstream", "latent", "steering"])
def test_a_failing_cell_forged_to_pass_is_refused(tmp_path, kind):
    forged = {}

    def change(data):
        record = task(data, kind)
        cell = next(c for c in record["cells"] if c["failures"])
        forged.update(id=cell["id"], failures=cell["failures"])
        cell.update(passed=True, failures=[])
        summary_agreeing(record)  # languages_passing / cells_passing count the forged pass

    lines = refused(tmp_path, change, "passed, yet its metrics fail")
    assert len(lines) == 1
    assert f"cell {forged['id']!r}: passed, yet its metrics fail: " in lines[0]
    assert "; ".join(forged["failures"]) in lines[0]
    assert lines[0].endswith("failures are recomputed, not trusted")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            lambda cells: next(c for c in cells if c["passed"]).update(
                passed=False, failures=["own ratio 1.0 < 1.5"]
            ),
            r"failed \(\['own ratio 1.0 < 1.5'\]\), yet its metrics pass every check",
        ),
        (
            lambda cells: cells[0].update(failures=["own ratio 2.000 < 1.5"]),
            r"lists failures \['own ratio 2.000 < 1.5'\]; its metrics give: own ratio \d\.\d{3} < 1.5",
        ),
        (
            lambda cells: next(c for c in cells if c["passed"])["metrics"].update(
                control_ratio=1.5
            ),
            "passed, yet its metrics fail: control ratio 1.500 > 1.1",
        ),
    ],
    ids=["made-up-failure", "edited-message", "edited-metric"],
)
def test_failures_must_be_what_the_metrics_give(tmp_path, change, reason):
    def forge(data):
        record = task(data, "ablation")
        change(record["cells"])
        summary_agreeing(record)

    lines = refused(tmp_path, forge, reason)
    # an edited metric also differs from what the cell's units give
    assert len(lines) == (2 if "1.500" in reason else 1)


def test_many_forged_cells_are_three_lines_and_a_count(tmp_path):
    def change(data):
        record = task(data, "latent")
        for cell in record["cells"]:
            cell["metrics"]["final_accuracy"] = 0.0  # all 14 lens cells now fail (3 did before)
        summary_agreeing(record)

    lines = refused(tmp_path, change, "passed, yet its metrics fail: final accuracy 0.00 < 0.3")
    # one group per reason: the recomputed failures, then the metric its units contradict
    assert len(lines) == 8 and lines[3].endswith("task 'latent_language': 11 more like these")
    assert "its units give" in lines[4] and lines[7].endswith("12 more like these")


def test_the_latent_peak_check_is_recomputed(tmp_path):
    def change(data):
        cell = task(data, "latent")["cells"][0]  # translation[fr>zh], 18 layers, passed
        cell["metrics"]["latent_peak_layer"] = 17.0

    lines = refused(
        tmp_path, change, "passed, yet its metrics fail: English peaks at layer 17, not inside"
    )
    assert len(lines) == 1


def test_a_metric_a_check_reads_is_one_line(tmp_path):
    def change(data):
        del task(data, "latent")["cells"][0]["metrics"]["layers"]  # the peak check reads it

    lines = refused(
        tmp_path, change, "cannot recompute the failures: cell .* lacks metric 'layers'"
    )
    assert len(lines) == 1


@pytest.mark.parametrize("source", FILED, ids=[p.parent.name + "/" + p.stem for p in FILED])
def test_every_filed_entry_resubmitted_is_accepted(tmp_path, source):
    assert submit(source, tmp_path / "board", TASKS).read_bytes() == source.read_bytes()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda cells: cells.append(dict(cells[0])), "appears 2 times"),
        (lambda cells: cells.append({**cells[0], "id": "ablate[xx]-eval[en]"}), "does not have"),
        (lambda cells: cells[0]["params"].update(eval="zz"), "params .* the task's are"),
        (lambda cells: cells.pop(), "1 of 81 cells missing"),
    ],
    ids=["duplicate", "extra", "params", "missing"],
)
def test_the_cells_are_exactly_the_tasks(tmp_path, change, reason):
    lines = refused(tmp_path, lambda d: change(task(d, "ablation")["cells"]), reason)
    assert len(lines) == 1


def test_a_missing_metric_is_one_line(tmp_path):
    def change(data):
        for cell in task(data, "ablation")["cells"]:
            cell["metrics"].pop("mean_other_ratio", None)

    # the diagonal's checks read it, and so does the summary: one line
    lines = refused(tmp_path, change, "cannot recompute the failures: cell .* lacks metric")
    assert len(lines) == 1 and "'mean_other_ratio'" in lines[0]


def test_a_task_given_twice_is_refused(tmp_path):
    lines = refused(tmp_path, lambda d: d["tasks"].append(d["tasks"][0]), "appears 2 times")
    assert len(lines) == 1


def test_the_leaderboard_ranks_on_recomputed_summaries_not_the_files(tmp_path):
    board = tmp_path / "board"
    path = entry(tmp_path / "in", lambda d: task(d, "ablation")["summary"].update(specificity=99.0))
    folder = board / "submissions" / "hand-filed"  # filed without `leaderboard submit`
    folder.mkdir(parents=True)
    (folder / path.name).write_bytes(path.read_bytes())
    (found,) = leaderboard.entries(board)
    honest = json.loads(HONEST.read_text())
    assert found.scores["ablation_perplexity"] == task(honest, "ablation")["summary"]["specificity"]
    assert any("summary 'specificity' is 99" in p for p in check_filed(board, TASKS))


# -- non-finite and incomplete results ---------------------------------------------------------


def test_a_nan_in_the_file_is_refused(tmp_path):
    path = entry(tmp_path / "in")
    text = path.read_text()
    number = re.search(r'"ratio": ([0-9.e+-]+)', text).group(1)
    path.write_text(text.replace(f'"ratio": {number}', '"ratio": NaN', 1))
    with pytest.raises(SubmissionError, match="ratio"):
        submit(path, tmp_path / "board", TASKS)
    assert not (tmp_path / "board").exists()


def test_a_null_metric_is_refused_naming_task_cell_and_metric(tmp_path):
    def change(data):
        cell = task(data, "ablation")["cells"][0]
        cell["metrics"]["ratio"] = None
        cell["failures"], cell["passed"] = ["metric ratio is not finite"], False

    lines = refused(tmp_path, change, "not a finite number")
    assert "task 'ablation_perplexity': cell 'ablate[" in lines[0] and "'ratio' is null" in lines[0]
    assert len(lines) == 1


def test_a_null_in_a_curve_is_refused(tmp_path):
    def change(data):
        task(data, "latent")["cells"][0]["curves"]["p_target"][0] = None

    lines = refused(tmp_path, change, "curve 'p_target' has a non-finite value")
    assert len(lines) == 1


def test_a_null_summary_is_refused(tmp_path):
    lines = refused(
        tmp_path,
        lambda d: task(d, "steering")["summary"].update(mean_success=None),
        "summary 'mean_success' is null",
    )
    assert len(lines) == 1


def test_an_interrupted_run_is_refused(tmp_path):
    def change(data):
        data["complete"] = False
        del task(data, "ablation")["cells"][5:]

    lines = refused(tmp_path, change, "the run was interrupted")
    assert re.search(r"interrupted: \d+ of \d+ cells ran; rerun", lines[0])
    assert not any("missing" in line for line in lines)


@pytest.mark.parametrize("complete", [True, None])
def test_a_run_that_says_it_is_complete_still_has_its_cells_counted(tmp_path, complete):
    def change(data):
        data["complete"] = complete
        task(data, "ablation")["cells"].pop()

    refused(tmp_path, change, "1 of 81 cells missing")


def test_the_leaderboard_never_ranks_a_non_finite_score(tmp_path):
    board = tmp_path / "board"

    def change(data):
        for cell in task(data, "downstream")["cells"]:
            cell["metrics"]["drop"] = None
            cell["failures"], cell["passed"] = ["metric drop is not finite"], False

    path = entry(tmp_path / "in", change)
    folder = board / "submissions" / "hand-filed"
    folder.mkdir(parents=True)
    (folder / path.name).write_bytes(path.read_bytes())
    (found,) = leaderboard.entries(board)
    assert "downstream" not in found.scores
    payload = leaderboard.pages(board)["index.html"].split('id="data">')[1].split("</script>")[0]
    json.loads(payload, parse_constant=lambda c: pytest.fail(f"{c} in the page"))


@pytest.mark.parametrize(
    ("kind", "metric"),
    [
        ("ablation", "ratio_hi"),
        ("downstream", "control_drop_lo"),
        ("steering", "success_lo"),
        ("latent", "target_drop_hi"),
    ],
)
def test_an_edited_interval_bound_is_refused_though_checks_and_summary_agree(
    tmp_path, kind, metric
):
    """No check or summary reads these bounds: only their units can show the edit."""
    edited = {}

    def change(data):
        cell = next(c for c in task(data, kind)["cells"] if metric in c["metrics"])
        cell["metrics"][metric] -= 0.01
        edited["id"] = cell["id"]

    lines = refused(tmp_path, change, f"metric '{metric}' is .*; its units give")
    assert len(lines) == 1 and f"cell '{edited['id']}'" in lines[0]
    assert lines[0].endswith("cell metrics are recomputed from their units")


def test_an_interval_without_the_units_it_resamples_is_refused(tmp_path):
    emptied = {}

    def change(data):
        cell = task(data, "steering")["cells"][1]
        cell["units"] = {}
        emptied["id"] = cell["id"]

    lines = refused(tmp_path, change, "has intervals but not the units they resample")
    assert f"cell '{emptied['id']}': has intervals" in lines[0]
