"""The layout rules import-linter cannot see (it checks imports; these check names).

``make lint`` runs this file after ``lint-imports``: each rule keeps one kind of
knowledge in the one place that owns it (CONTRIBUTING.md, "Project layout").
"""

import ast
from collections import Counter
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "langneurons"
MODULES = sorted(p for p in PACKAGE.rglob("*.py"))
KIND_NAMES = {"ablation", "steering", "latent", "downstream"}
#: source names that are also ordinary words: only comparing with one is a branch on it
SOURCE_WORDS = {"text", "jsonl", "prompts", "concepts"}
SOURCE_NAMES = {"udhr", "flores", "wikipedia", "libreoffice-help", "debian-handbook"}
SITE_FRAGMENTS = (".mlp", "layers.{", "model.layers", "transformer.h", "act_fn")


def _relative(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def _strings(tree: ast.AST) -> list[ast.Constant]:
    """String constants that are not docstrings."""
    docstrings = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            docstrings.add(id(first.value))
    return [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings
    ]


def _compared(tree: ast.AST) -> list[ast.Constant]:
    """String constants compared (==, !=, in) with something named ``source``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            parts = [node.left, *node.comparators]
            named = [
                p
                for p in parts
                if (isinstance(p, ast.Attribute) and p.attr == "source")
                or (isinstance(p, ast.Name) and p.id == "source")
            ]
            for part in parts if named else []:
                for n in ast.walk(part):
                    if isinstance(n, ast.Constant) and isinstance(n.value, str):
                        found.append(n)
    return found


def _violations(owner: str, test) -> list[str]:
    bad = []
    for path in MODULES:
        rel = _relative(path)
        if rel.startswith(owner):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        bad += [f"{rel}:{n.lineno}: {n.value!r}" for n in test(tree)]
    return bad


def test_no_two_modules_share_a_stem():
    stems = Counter(p.stem for p in MODULES if p.stem != "__init__")
    assert [s for s, n in stems.items() if n > 1] == []


def test_only_paths_reads_environment_variables():
    def reads(tree):
        return [
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.Attribute) and n.attr in ("environ", "getenv", "putenv")
        ]

    bad = []
    for path in MODULES:
        if _relative(path) != "paths.py":
            bad += [f"{_relative(path)}:{n.lineno}" for n in reads(ast.parse(path.read_text()))]
    assert bad == []


def test_only_kinds_name_a_kind():
    def named(tree):
        return [n for n in _strings(tree) if n.value in KIND_NAMES]

    assert _violations("tasks/kinds/", named) == []


def test_only_adapters_name_a_module_path():
    def paths(tree):
        return [n for n in _strings(tree) if any(f in n.value for f in SITE_FRAGMENTS)]

    assert _violations("models/adapters/", paths) == []


def test_only_sources_name_a_source():
    def named(tree):
        return [n for n in _strings(tree) if n.value in SOURCE_NAMES] + [
            n for n in _compared(tree) if n.value in SOURCE_WORDS
        ]

    assert _violations("text/sources/", named) == []


@pytest.mark.parametrize(
    "source",
    [
        'x = "ablation"',  # a kind name outside the kinds
        'if spec.source == "text": pass',  # a branch on a source
        'site = "model.layers.{i}.mlp.act_fn"',
    ],
)
def test_the_rules_catch_what_they_forbid(source):
    tree = ast.parse(source)
    caught = (
        [n for n in _strings(tree) if n.value in KIND_NAMES]
        + [n for n in _compared(tree) if n.value in SOURCE_WORDS]
        + [n for n in _strings(tree) if any(f in n.value for f in SITE_FRAGMENTS)]
    )
    assert caught
