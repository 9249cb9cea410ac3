"""Card numbers are replaced by a keyed hash token at ingest, before anything is stored.

The token is HMAC-SHA256(key, PAN): stable for joins and features, useless without the key.
"""

import hashlib
import hmac
import re

import pyarrow as pa
import pyarrow.compute as pc

TOKEN_PREFIX = "tok_"
_TOKEN_HEX_CHARS = 24
# 13-19 digits, optionally grouped by spaces or dashes, not inside a longer digit run.
_PAN_CANDIDATE = re.compile(r"(?<![\d])(?:\d[ -]?){12,18}\d(?![\d])")


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


class CardTokenizer:
    def __init__(self, key: bytes):
        if not key:
            raise ValueError("the card tokenization key is empty: set CARD_TOKEN_KEY")
        self._key = key

    def token(self, card_number: str) -> str:
        digest = hmac.new(self._key, card_number.encode(), hashlib.sha256).hexdigest()
        return TOKEN_PREFIX + digest[:_TOKEN_HEX_CHARS]

    def tokenize(self, card_numbers: pa.Array | pa.ChunkedArray) -> pa.Array:
        """Tokens for a column of card numbers; hashes each distinct number once."""
        encoded = pc.dictionary_encode(card_numbers)
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.unify_dictionaries().combine_chunks()
        tokens = pa.array([self.token(pan) for pan in encoded.dictionary.to_pylist()], pa.string())
        return pc.take(tokens, encoded.indices)

    def redact(self, text: str) -> str:
        """Replace every Luhn-valid card number in free text (e.g. a raw source line)."""

        def replace(match: re.Match) -> str:
            digits = re.sub(r"[ -]", "", match.group())
            return self.token(digits) if luhn_valid(digits) else match.group()

        return _PAN_CANDIDATE.sub(replace, text)
