"""The fluency guard tells prose from whitespace runs, broken bytes and loops, in any script."""

from langneurons.tasks.fluency import measure
from langneurons.tasks.kinds.steering import GuardSpec

GUARD = GuardSpec()


def passes(text):
    found = measure(text)
    return (
        found.letters >= GUARD.min_letters
        and found.letter_share >= GUARD.min_letter_share
        and found.repetition <= GUARD.max_repetition
    )


def test_prose_in_several_scripts_passes():
    assert passes(" the time of year when the leaves are changing and the days get shorter.")
    assert passes("冬天，因为冬天的雪很美，我们可以在外面堆雪人，然后回家喝热茶。")
    assert passes(" когда я влюбляюсь в то, что я не могу себе представить.")


def test_a_sentence_said_twice_still_passes():
    assert passes("Le temps passe très vite.\n\nLe temps passe très vite.")


def test_whitespace_runs_broken_bytes_and_word_loops_fail():
    assert not passes("，\n\n" + "\u3000" * 30)
    assert not passes("\n" + "\ufffd" * 30)
    assert not passes("，" + "听" * 31)
    assert not passes(" ist ein kleines," + " kleines," * 14)  # 32 tokens of it
    assert not passes(",\nя,\nя,\nя,\nя,\nя,\nя,\nя,\nя,\nя,\nя,\n")
    assert not passes(" осень.\n1.\n2.\n3.\n4.\n5.\n6.\n7.\n8.\n9.\n10")


def test_measure_counts_letters_and_repeats():
    found = measure("abcdef abcdef")
    assert found.letters == 12 and found.letter_share == 1.0
    # letters abcdefabcdef: 8 five-grams, 6 distinct
    assert abs(found.repetition - 2 / 8) < 1e-9
