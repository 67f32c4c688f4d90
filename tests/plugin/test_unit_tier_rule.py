"""The rule of tests/conftest.py: a unit test that loads weights or a tokenizer from disk fails."""

import shutil
from pathlib import Path

pytest_plugins = ["pytester"]
TESTS = Path(__file__).resolve().parents[1]
MESSAGE = (
    "*Failed: tests/unit must not load weights or tokenizers;"
    " move this test to tests/integration or tests/e2e*"
)

LOADS_A_TOKENIZER = """
from transformers import AutoTokenizer

from tests.synthetic import tiny_tokenizer


def test_loads_a_tokenizer_from_a_folder(tmp_path):
    tiny_tokenizer().save_pretrained(tmp_path)
    AutoTokenizer.from_pretrained(tmp_path)


def test_builds_a_tokenizer_in_memory():
    assert tiny_tokenizer().bos_token == "<s>"
"""

IMPORTS_LATE = """
def test_loads_a_tokenizer_importing_transformers_inside_the_test(tmp_path):
    from tests.synthetic import tiny_tokenizer
    from transformers import AutoTokenizer

    tiny_tokenizer().save_pretrained(tmp_path)
    AutoTokenizer.from_pretrained(tmp_path)


def test_reads_the_weights_of_a_model_folder(tmp_path):
    from safetensors.torch import load_file

    from tests.synthetic import save_tiny_model

    folder = save_tiny_model(tmp_path / "model")
    load_file(next(folder.glob("*.safetensors")))


def test_reads_a_safetensors_file_that_is_not_a_model(tmp_path):
    import torch
    from safetensors.torch import load_file, save_file

    save_file({"counts": torch.zeros(2)}, tmp_path / "stats.safetensors")
    assert load_file(tmp_path / "stats.safetensors")["counts"].shape == (2,)
"""

READS_WEIGHTS = """
def test_reads_the_weights_of_a_model_folder(tmp_path):
    from safetensors.torch import load_file

    from tests.synthetic import save_tiny_model

    folder = save_tiny_model(tmp_path / "model")
    assert load_file(next(folder.glob("*.safetensors")))
"""


def tiers(pytester):
    """A copy of this suite's conftest and builders, with a unit and an integration tier."""
    (pytester.path / "tests").mkdir()
    for name in ("__init__.py", "conftest.py", "synthetic.py"):
        shutil.copy(TESTS / name, pytester.path / "tests" / name)
    for tier in ("unit", "integration"):
        (pytester.path / "tests" / tier).mkdir()
        (pytester.path / "tests" / tier / "__init__.py").write_text("")
        (pytester.path / "tests" / tier / "test_loads.py").write_text(LOADS_A_TOKENIZER)
    (pytester.path / "tests" / "unit" / "test_imports_late.py").write_text(IMPORTS_LATE)
    (pytester.path / "tests" / "integration" / "test_reads_weights.py").write_text(READS_WEIGHTS)


def test_a_unit_test_that_loads_a_tokenizer_from_a_folder_fails(pytester):
    tiers(pytester)
    result = pytester.runpytest_subprocess(
        "tests/unit/test_loads.py", "tests/integration/test_loads.py", "-v"
    )
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            "tests/unit/test_loads.py::test_loads_a_tokenizer_from_a_folder FAILED*",
            "tests/unit/test_loads.py::test_builds_a_tokenizer_in_memory PASSED*",
            "tests/integration/test_loads.py::test_loads_a_tokenizer_from_a_folder PASSED*",
            "tests/integration/test_loads.py::test_builds_a_tokenizer_in_memory PASSED*",
            MESSAGE,
        ]
    )


def test_the_rule_holds_when_the_test_imports_transformers_itself_and_ends_with_it(pytester):
    tiers(pytester)
    result = pytester.runpytest_subprocess(
        "tests/unit/test_imports_late.py", "tests/integration/test_reads_weights.py", "-v"
    )
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*::test_loads_a_tokenizer_importing_transformers_inside_the_test FAILED*",
            "tests/unit/*::test_reads_the_weights_of_a_model_folder FAILED*",
            "*::test_reads_a_safetensors_file_that_is_not_a_model PASSED*",
            "tests/integration/*::test_reads_the_weights_of_a_model_folder PASSED*",
            MESSAGE,
        ]
    )
