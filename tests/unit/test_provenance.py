import importlib.metadata
import json

from langneurons.provenance import lock_state


def test_lock_state_hashes_the_lock_and_names_every_pin_the_environment_differs_from(tmp_path):
    pydantic = importlib.metadata.version("pydantic")
    lock = tmp_path / "requirements.lock"
    lock.write_text(
        f"# header\npydantic=={pydantic}\npyyaml==0.0.1\nno-such-distribution-here==1.0\n"
    )
    state = lock_state(lock)
    assert state is not None
    assert len(state["sha256"]) == 64
    assert state["differs"] == [
        f"pyyaml=={importlib.metadata.version('pyyaml')} (lock 0.0.1)",
        "no-such-distribution-here==missing (lock 1.0)",
    ]
    lock.write_text(f"pydantic=={pydantic}\n")
    changed = lock_state(lock)
    assert changed is not None and changed["differs"] == []
    assert changed["sha256"] != state["sha256"]
    json.dumps(changed)


def test_no_lock_beside_the_package_is_none(tmp_path):
    assert lock_state(tmp_path / "requirements.lock") is None
