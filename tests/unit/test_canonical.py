import hashlib
import math

import pytest

from langneurons.canonical import canonical_json, sha256_of


def test_key_order_and_whitespace_do_not_change_the_hash():
    assert sha256_of({"b": [1, 2], "a": {"y": 1, "x": 2}}) == sha256_of(
        {"a": {"x": 2, "y": 1}, "b": [1, 2]}
    )
    assert canonical_json({"b": 1, "a": [1, 2]}) == '{"a":[1,2],"b":1}'


def test_non_ascii_is_hashed_as_utf8_not_as_escapes():
    text = canonical_json({"zh": "中文"})
    assert text == '{"zh":"中文"}'
    assert sha256_of({"zh": "中文"}) == hashlib.sha256(text.encode("utf-8")).hexdigest()


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_refused(value):
    with pytest.raises(ValueError):
        sha256_of({"ppl": value})
