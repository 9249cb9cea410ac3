import pyarrow as pa
import pytest

from platform_assets.ingest.tokenization import CardTokenizer, luhn_valid
from tests.records import CARD


def test_token_is_keyed_and_stable(tokenizer):
    assert tokenizer.token(CARD) == tokenizer.token(CARD)
    assert tokenizer.token(CARD) != CardTokenizer(b"another key").token(CARD)
    assert tokenizer.token(CARD).startswith("tok_") and CARD not in tokenizer.token(CARD)


def test_column_tokenization_matches_single_tokens_and_keeps_nulls(tokenizer):
    cards = pa.chunked_array([[CARD, None], ["5500000000000004", CARD]])
    tokens = tokenizer.tokenize(cards).to_pylist()
    assert tokens == [tokenizer.token(CARD), None, tokenizer.token("5500000000000004"), tokens[0]]


def test_redaction_replaces_luhn_valid_numbers_only(tokenizer):
    text = f'{{"card": "{CARD}", "grouped": "4111 1111 1111 1111", "ms": 1704189600123}}'
    redacted = tokenizer.redact(text)
    assert CARD not in redacted and "4111 1111" not in redacted
    assert redacted.count(tokenizer.token(CARD)) == 2
    assert "1704189600123" in redacted  # an epoch timestamp is not a card number


def test_luhn():
    assert luhn_valid(CARD) and not luhn_valid("4111111111111112")


def test_empty_key_is_refused():
    with pytest.raises(ValueError, match="CARD_TOKEN_KEY"):
        CardTokenizer(b"")
