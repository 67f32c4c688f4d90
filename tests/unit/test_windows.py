from langneurons.text.windows import batches, windows
from tests.synthetic import tiny_tokenizer


def test_windows_prefix_bos_and_respect_the_token_budget():
    tokenizer = tiny_tokenizer()
    text = ["All human beings are born free and equal in dignity and rights."] * 20
    items = list(windows(tokenizer, text, window=16, max_tokens=40))
    assert [w.text_tokens for w in items] == [16, 16, 8]
    assert all(w.ids[0] == tokenizer.bos_token_id and w.prefix == 1 for w in items)


def test_windows_keep_a_short_tail_and_batches_never_mix_lengths():
    tokenizer = tiny_tokenizer()
    items = list(windows(tokenizer, ["Alle Menschen sind frei."] * 5, window=8))
    assert all(len(w.ids) - 1 <= 8 for w in items)
    for batch in batches(items, 3):
        assert len({len(w.ids) for w in batch}) == 1 and len(batch) <= 3
    assert sum(len(b) for b in batches(items, 3)) == len(items)
