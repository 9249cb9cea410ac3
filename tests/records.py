"""Landing records for tests: clean ones, and the raw bytes of files made of them."""

import json

CARD = "4111111111111111"


def transaction(number: int = 1, **changes) -> dict:
    """A clean transaction record (docs/landing-contract.md) with `changes` applied."""
    record = {
        "transaction_id": f"tx-{number:06d}",
        "user_id": "u000001",
        "card_number": CARD,
        "amount": 42.5,
        "currency": "EUR",
        "merchant_id": "m00001",
        "merchant_category": "grocery",
        "location_lat": 48.85,
        "location_lon": 2.35,
        "payment_method": "chip",
        "device_id": "d0000001",
        "event_time": "2024-01-02T10:00:00.000+01:00",
    }
    record.update(changes)
    return record


def jsonl(*records) -> bytes:
    """JSON lines; a `bytes` item is written as the raw line it is."""
    lines = [r if isinstance(r, bytes) else json.dumps(r).encode() for r in records]
    return b"".join(line + b"\n" for line in lines)


def csv_file(*records, columns: list[str] | None = None) -> bytes:
    """CSV with a header; a `bytes` item is a raw line, None values are empty cells."""
    columns = columns or list(transaction())
    lines = [",".join(columns).encode()]
    for record in records:
        if isinstance(record, bytes):
            lines.append(record)
        else:
            cells = ["" if record.get(c) is None else str(record.get(c)) for c in columns]
            lines.append(",".join(cells).encode())
    return b"".join(line + b"\n" for line in lines)
