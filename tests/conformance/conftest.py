import pytest

from langneurons.paths import reference_dir


@pytest.fixture(scope="session")
def reference():
    folder = reference_dir()
    if not folder.is_dir():
        pytest.skip(
            f"published reference data not found at {folder} (set LANGNEURONS_REFERENCE_DIR)"
        )
    return folder
