"""Leaderboard submissions are checked completely; the pages follow the filed entries."""

import json

import pytest

from langneurons.report import leaderboard, results
from langneurons.report.submission import SubmissionError, check_filed, submit
from tests.leaderboard_files import ROOT, TASKS, edit, results_file


@pytest.fixture
def board(tmp_path):
    return tmp_path / "board"


def filed(board):
    return sorted(p.relative_to(board).as_posix() for p in board.rglob("*.json"))


def test_an_accepted_file_is_filed_byte_for_byte(tmp_path, board):
    source = results_file(tmp_path)
    destination = submit(source, board, TASKS)
    assert destination == board / "submissions" / "gemma-3-270m" / f"lape-{'a' * 12}.json"
    assert destination.read_bytes() == source.read_bytes()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d["tasks"][0]["cells"][0]["metrics"].update(ratio=9.0), "edited after the run"),
        (
            lambda d: d.update(format="langneurons.results/4"),
            "has format 'langneurons.results/4'",
        ),
        (lambda d: d.pop("sha256"), "sha256: Field required"),
    ],
    ids=["tampered", "wrong-version", "no-hash"],
)
def test_rejected_files_name_the_reason_and_change_nothing(tmp_path, board, change, reason):
    path = edit(results_file(tmp_path), change)
    with pytest.raises(SubmissionError, match=reason):
        submit(path, board, TASKS)
    assert not board.exists()


def test_a_truncated_file_is_rejected(tmp_path, board):
    path = results_file(tmp_path)
    path.write_text(path.read_text()[:-200])
    with pytest.raises(SubmissionError, match="not valid JSON .*truncated"):
        submit(path, board, TASKS)
    assert not board.exists()


def test_a_duplicate_is_rejected(tmp_path, board):
    submit(results_file(tmp_path), board, TASKS)
    with pytest.raises(SubmissionError, match="duplicate"):
        submit(results_file(tmp_path / "again"), board, TASKS)
    assert len(filed(board)) == 1


def test_task_problems_are_each_one_line(tmp_path, board):
    def change(data):
        ablation, _, _, latent, steering = data["tasks"]  # tasks are written in file-name order
        ablation["cells"] = ablation["cells"][:-2]
        latent["version"] = 9
        steering["spec"]["languages"] = ["en", "de"]

    path = edit(results_file(tmp_path), change)
    # re-hash, so that the content check passes and the task checks speak
    data = json.loads(path.read_text())
    data["sha256"] = results.content_sha256(data)
    path.write_text(json.dumps(data))
    with pytest.raises(SubmissionError) as error:
        submit(path, board, TASKS)
    lines = str(error.value).splitlines()
    assert len(lines) == 3
    assert "task 'ablation_perplexity': 2 of 81 cells missing" in lines[0]
    assert "task 'latent_language': version 9; latent_language.yaml is version 2" in lines[1]
    assert "task 'steering': spec does not match its spec_sha256" in lines[2]


def test_entries_are_ranked_by_their_headline_scores(tmp_path, board):
    submit(results_file(tmp_path, method="random", sha="b" * 64, score=0.1), board, TASKS)
    submit(results_file(tmp_path, method="lape", sha="c" * 64, score=1.0), board, TASKS)
    found = leaderboard.entries(board)
    assert [e.results.neuron_set.method.name for e in found] == ["lape", "random"]
    assert [e.rank for e in found] == [1.0, 2.0]
    assert found[0].scores == {
        "ablation_perplexity": 1.0,
        "ablation_perplexity_udhr": 1.0,
        "downstream": 1.0,
        "latent_language": 0.25,
        "steering": 0.5,
    }


def test_pages_show_every_entry_and_follow_the_submissions(tmp_path, board):
    submit(results_file(tmp_path, method="random", sha="b" * 64, score=0.1), board, TASKS)
    assert leaderboard.outdated(board) == ["README.md", "index.html"]
    leaderboard.build(board)
    assert leaderboard.outdated(board) == []
    readme = (board / "README.md").read_text()
    assert (
        "| 1.00 | gemma-3-270m | random | en,zh | 0.100 | 0.100 | 0.100 | 0.025 | 0.050 |" in readme
    )
    assert "`pytest benchmark/ --model gemma-3-270m --neurons random`" in readme
    models = readme.split("## Models")[1]
    assert (
        "| gemma-3-270m | gemma3 | 268M | base | dequantised from Q4_K_M | 4 x 8 | float32 |"
        in models
    )
    page = (board / "index.html").read_text()
    data = json.loads(page.split('id="data">')[1].split("</script>")[0])
    assert [r["method"] for r in data["rows"]] == ["random"]
    views = {(v.get("task", ""), v["chart"]): v for v in data["details"][0]["views"]}
    assert views[("", "curves")]["rows"] == [["en", [1, 1], 0, False], ["zh", [0, 3], 1, False]]
    assert {task for task, _ in views} >= {"ablation_perplexity", "steering", "latent_language"}
    submit(results_file(tmp_path, method="lape", sha="c" * 64), board, TASKS)
    assert leaderboard.outdated(board) == ["README.md", "index.html"]


def test_a_misplaced_entry_is_reported(tmp_path, board):
    destination = submit(results_file(tmp_path), board, TASKS)
    destination.rename(destination.with_name("renamed.json"))
    problems = check_filed(board, TASKS)
    assert len(problems) == 1 and "filed under the wrong name" in problems[0]


def test_the_repository_leaderboard_validates_and_its_pages_are_current():
    board = ROOT / "leaderboard"
    assert check_filed(board, TASKS) == []
    assert leaderboard.outdated(board) == [], "run: langneurons leaderboard build"


def test_the_command_line_files_rebuilds_and_rejects_with_exit_code_2(tmp_path, board, capsys):
    from langneurons.run.cli import main

    source = results_file(tmp_path)
    args = ["--leaderboard", str(board), "--tasks", str(TASKS)]
    assert main(["leaderboard", "submit", str(source), *args]) == 0
    out = capsys.readouterr().out
    assert "filed " in out and "wrote " in out
    assert leaderboard.outdated(board) == []
    assert main(["leaderboard", "submit", str(source), *args]) == 2
    assert "duplicate" in capsys.readouterr().err


def test_leaderboard_check_names_stray_files_and_stale_pages(tmp_path, board, capsys):
    """What CI runs on a pull request that adds a results file by hand."""
    from langneurons.run.cli import main

    args = ["leaderboard", "check", "--leaderboard", str(board), "--tasks", str(TASKS)]
    submit(results_file(tmp_path), board, TASKS)
    leaderboard.build(board)
    assert main(args) == 0
    assert "1 entries, each as submit accepts it; pages current" in capsys.readouterr().out
    (board / "submissions" / "notes.txt").write_text("x")
    filed = results_file(tmp_path, method="lape", sha="c" * 64)
    copy = board / "submissions" / "m" / filed.name
    copy.parent.mkdir(exist_ok=True)
    copy.write_text(filed.read_text())
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "notes.txt: not a results file at submissions/<model>/<file>.json" in err
    assert "filed under the wrong name" in err
    assert "not current: run langneurons leaderboard build" in err
