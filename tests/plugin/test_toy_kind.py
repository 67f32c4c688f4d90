"""A new task kind is one module and one task file: the plugin, results and leaderboard need no edit."""

import json

from tests.plugin.conftest import args

pytest_plugins = ["pytester"]

TOY_KIND = '''
"""A toy kind: per language, how many neurons the set under test has."""

from typing import Literal

from langneurons.tasks.checks import Checks, Rule, failures
from langneurons.tasks.protocol import KINDS, Cell, CellResult, Headline, Summary, View
from langneurons.tasks.spec import TaskFields


class ToyChecks(Checks):
    min_neurons: float


class ToySpec(TaskFields):
    kind: Literal["toy"]
    checks: ToyChecks


RULES = (Rule("min_neurons", "neurons", "neurons", digits=0),)


class Toy:
    name = "toy"
    spec_model = ToySpec
    headline = Headline("mean_neurons", "neurons per language")

    def cells(self, task):
        return [Cell(task.name, f"count[{lang}]", {"lang": lang}) for lang in task.languages]

    def preflight(self, task, trust_task_code):
        pass

    def evaluator(self, task, context):
        def evaluate(cell):
            metrics = {"neurons": float(context.neuron_set.count(cell.params["lang"]))}
            return CellResult(metrics, self.failures(task, cell, metrics))

        return evaluate

    def failures(self, task, cell, metrics):
        return failures(RULES, task.fields.checks, cell, metrics)

    def unit_metrics(self, task, cell, units):
        return {}  # no metric averages over units: nothing to recompute

    def summarize(self, task, results):
        values = [r.metrics["neurons"] for r in results.values()]
        return Summary({"mean_neurons": sum(values) / len(values)}, "toy table")

    def detail(self, task, results):
        rows = [[k, r.metrics["neurons"], 0, 0] for k, r in results.items()]
        return [View("bars", "neurons", rows)]

    def figures(self, task, results):
        return []


KINDS.add("toy", Toy())
'''

TOY_TASK = """name: toy
kind: toy
version: 1
languages: [en, zh]
data: {{source: text, split: evaluate, path: "{corpus}"}}
checks: {{min_neurons: {bar}}}
"""


def test_a_toy_kind_runs_end_to_end_from_its_module_and_a_task_file(pytester, project):
    (pytester.path / "toykind.py").write_text(TOY_KIND)
    pytester.makeconftest('pytest_plugins = ["langneurons.run.pytest_plugin", "toykind"]')
    (pytester.path / "tasks" / "toy.yaml").write_text(
        TOY_TASK.format(corpus=project["corpus"], bar=1)
    )
    result = pytester.runpytest_subprocess(*args(project, "--tasks", "toy", "-v"))
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["*test_cell?toy/count?zh?? PASSED*", "*toy table*", "*mean_neurons*"]
    )
    data = json.loads(next((pytester.path / "out").glob("*.json")).read_text())
    (task,) = data["tasks"]
    assert task["kind"] == "toy" and [c["id"] for c in task["cells"]] == ["count[en]", "count[zh]"]


def test_a_toy_kinds_declared_check_fails_a_cell(pytester, project):
    (pytester.path / "toykind.py").write_text(TOY_KIND)
    pytester.makeconftest('pytest_plugins = ["langneurons.run.pytest_plugin", "toykind"]')
    (pytester.path / "tasks" / "toy.yaml").write_text(
        TOY_TASK.format(corpus=project["corpus"], bar=10**6)
    )
    result = pytester.runpytest_subprocess(*args(project, "--tasks", "toy"))
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*neurons * < 1000000*"])
