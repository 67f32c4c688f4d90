"""lm-eval task configs under a task's include_path run only when the person running trusts them.

The crafted folder holds an lm-eval task whose ``!function`` names a module that
writes a file when imported, and another whose Jinja template reaches Python;
lm-eval proves both run. The gate must refuse before lm-eval sees the folder,
write nothing, and pass once the person opts in.
"""

from pathlib import Path
from types import SimpleNamespace

import pytest

from langneurons.errors import ConfigError
from langneurons.run.cli import main
from langneurons.tasks.kinds.downstream import check_task_code
from langneurons.tasks.protocol import KINDS
from langneurons.tasks.spec import load_task

PAYLOAD = (
    "from pathlib import Path\nPath({marker!r}).write_text('ran')\n\ndef docs(d):\n    return d\n"
)
EVIL = "task: evil_{{lang}}\ndataset_path: json\nprocess_docs: !function payload.docs\n"
JINJA = (
    "task: evil_{{lang}}\ndoc_to_text: '{{ cycler.__init__.__globals__.os.system(\"true\") }}'\n"
)


def crafted(tmp_path, evil=EVIL, folder="tasks"):
    """A downstream task whose include_path holds an lm-eval task that runs payload.py."""
    marker = tmp_path / "ran.txt"
    lm_eval_tasks = tmp_path / folder
    lm_eval_tasks.mkdir(parents=True)
    (lm_eval_tasks / "payload.py").write_text(PAYLOAD.format(marker=str(marker)))
    (lm_eval_tasks / "evil.yaml").write_text(evil)
    spec = tmp_path / "downstream.yaml"
    spec.write_text(
        "name: downstream\nkind: downstream\nversion: 1\nlanguages: [en, fr]\n"
        "data: {source: concepts, split: evaluate}\nlm_eval_tasks: 'evil_{lang}'\n"
        f"include_path: {str(lm_eval_tasks)!r}\n"
        "checks: {min_own_drop: 0.1, max_other_drop: 0.05, max_control_drop: 0.05}\n"
    )
    return load_task(spec), marker


def test_lm_evals_loader_runs_the_crafted_function(tmp_path):
    loader = pytest.importorskip("lm_eval.tasks._yaml_loader")
    _, marker = crafted(tmp_path)
    loader.load_yaml(tmp_path / "tasks" / "evil.yaml")  # what lm-eval does with a named task
    assert marker.read_text() == "ran"


def test_lm_evals_templates_reach_python_without_any_function_tag():
    utils = pytest.importorskip("lm_eval.utils")
    template = "{{ cycler.__init__.__globals__.os.getcwd() }}"
    assert utils.apply_template(template, {}) == str(Path.cwd())


@pytest.mark.parametrize("evil", [EVIL, JINJA], ids=["function", "jinja"])
def test_an_include_path_is_refused_without_the_opt_in_and_nothing_runs(tmp_path, evil):
    task, marker = crafted(tmp_path, evil)
    with pytest.raises(ConfigError) as error:
        check_task_code(task)
    message = str(error.value)
    assert "\n" not in message
    assert "needs --trust-task-code" in message and str(tmp_path / "tasks") in message
    assert not marker.exists()


def test_with_the_opt_in_the_check_passes_and_imports_nothing(tmp_path):
    task, marker = crafted(tmp_path)
    check_task_code(task, trust_task_code=True)
    assert not marker.exists()


def test_the_downstream_evaluator_refuses_before_lm_eval_or_a_model(tmp_path):
    task, marker = crafted(tmp_path)
    kind = KINDS.get("downstream")
    with pytest.raises(ConfigError, match="needs --trust-task-code"):
        kind.preflight(task, trust_task_code=False)  # what a run checks before models load
    untrusted = SimpleNamespace(trust_task_code=False)  # no model: it fails before touching one
    with pytest.raises(ConfigError, match="needs --trust-task-code"):
        kind.evaluator(task, context=untrusted)
    assert not marker.exists()


def test_validate_says_the_task_needs_the_opt_in(tmp_path, capsys):
    task, marker = crafted(tmp_path)
    assert main(["validate", str(task.path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs --trust-task-code: " in err
    assert not marker.exists()


def test_a_missing_include_path_is_one_line(tmp_path):
    task, _ = crafted(tmp_path)
    (tmp_path / "tasks" / "evil.yaml").unlink()
    (tmp_path / "tasks" / "payload.py").unlink()
    (tmp_path / "tasks").rmdir()
    with pytest.raises(ConfigError, match="include_path .*: no such folder"):
        check_task_code(task)
