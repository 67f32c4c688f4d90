"""Answer token sets: every vocabulary entry that is a prefix of the word, with or without a space."""

import pytest
from tokenizers import Tokenizer, decoders
from tokenizers.models import WordLevel
from transformers import PreTrainedTokenizerFast

from langneurons.tasks.answer_tokens import AnswerTokens, is_byte_level, piece_bytes


def wrap(vocab, decoder):
    model = Tokenizer(WordLevel({p: i for i, p in enumerate(vocab)}, unk_token="<unk>"))
    model.decoder = decoder
    return PreTrainedTokenizerFast(tokenizer_object=model, unk_token="<unk>", eos_token="</s>")


SENTENCEPIECE = [
    "<unk>", "</s>", "c", "▁c", "cl", "▁cloud", "cloudy", "loud", "▁", "<0x63>",
    "<0xE4>", "<0xBA>", "云", "▁云", "云朵", "nuage", "▁n", "n",
]  # fmt: skip
BYTE_LEVEL = ["<unk>", "</s>", "c", "Ġc", "cl", "Ġcloud", "cloudy", "Ġ", "ä", "äº", "äºĳ", "Ġäº"]


@pytest.fixture
def sentencepiece():
    metaspace = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback()])
    return wrap(SENTENCEPIECE, metaspace)


@pytest.fixture
def byte_level():
    return wrap(BYTE_LEVEL, decoders.ByteLevel())


def names(tokenizer, ids):
    return set(tokenizer.convert_ids_to_tokens(sorted(ids)))


def test_prefixes_with_and_without_the_space_marker(sentencepiece):
    found = names(sentencepiece, AnswerTokens(sentencepiece).of("cloud"))
    # the byte token of "c" is a prefix too; "cloudy" is longer than the word, "loud" not a prefix,
    # a bare space marker is not text of the word, and special tokens never count
    assert found == {"c", "▁c", "cl", "▁cloud", "<0x63>"}


def test_byte_fallback_tokens_count_when_they_start_the_word(sentencepiece):
    found = names(sentencepiece, AnswerTokens(sentencepiece).of("云"))
    assert found == {"云", "▁云", "<0xE4>"}  # 云 is E4 BA 91: <0xBA> alone is not a prefix


def test_byte_level_pieces_are_read_as_bytes(byte_level):
    assert is_byte_level(byte_level)
    assert names(byte_level, AnswerTokens(byte_level).of("cloud")) == {"c", "Ġc", "cl", "Ġcloud"}
    assert names(byte_level, AnswerTokens(byte_level).of("云")) == {"ä", "äº", "äºĳ", "Ġäº"}


def test_a_word_no_entry_starts_has_an_empty_set(sentencepiece):
    assert AnswerTokens(sentencepiece).of("ouvrir") == frozenset()


def test_piece_bytes():
    assert piece_bytes("▁云", byte_level=False) == " 云".encode()
    assert piece_bytes("<0xE4>", byte_level=False) == b"\xe4"
    assert piece_bytes("Ġäº", byte_level=True) == b" \xe4\xba"
