"""Do the pushed stores agree? What the Feast SDK reads back from each, for a sample of
users and one that does not exist, is compared before any read is timed.

Within one kind of store (SQLite or Redis) the responses must be equal, event timestamps
included; across kinds the feature values must be (Feast's stock SQLite store keeps event
timestamps in whole seconds, its Redis store in nanoseconds). Every sampled user must be
found: a push that lost rows fails here.
"""

from pathlib import Path

import numpy as np
from feast import FeatureStore

from benchmarks.feature_store.contenders import KIND
from benchmarks.feature_store.repo import COUNTS, SERVICE, user_ids

SAMPLE = 1_000
MISSING_USER = "no-such-user"


class Disagreement(AssertionError):
    pass


def sample_rows(users: int, seed: int) -> list[dict]:
    picks = np.random.default_rng(seed).choice(users, min(SAMPLE, users), replace=False)
    ids = user_ids(users).take(picks).to_pylist()
    return [{"user_id": user} for user in [*ids, MISSING_USER]]


def read_back(folder: Path, rows: list[dict]) -> dict:
    store = FeatureStore(repo_path=str(folder))
    response = store.get_online_features(
        features=store.get_feature_service(SERVICE), entity_rows=rows
    )
    return response.to_dict(include_event_timestamps=True)


def _values(response: dict) -> dict:
    return {name: values for name, values in response.items() if not name.endswith("__ts")}


def differences(responses: dict[str, dict]) -> list[str]:
    """What differs between the read-backs (empty when they agree); the first store of each
    kind is that kind's reference, the first store of all the values' reference."""
    problems = []
    first = next(iter(responses))
    references = {}
    for name, response in responses.items():
        reference = references.setdefault(KIND[name], name)
        if response != responses[reference]:
            problems.append(f"{name} vs {reference}: the responses differ")
        elif _values(response) != _values(responses[first]):
            problems.append(f"{name} vs {first}: the feature values differ")
        found = response[COUNTS[0]][:-1]
        if None in found:
            problems.append(f"{name}: {found.count(None)} sampled users are missing")
        if response[COUNTS[0]][-1] is not None:
            problems.append(f"{name}: a user that does not exist has values")
    return problems


def require_agreement(stores: dict[str, Path], users: int, seed: int) -> None:
    rows = sample_rows(users, seed)
    if problems := differences({name: read_back(folder, rows) for name, folder in stores.items()}):
        raise Disagreement("the pushed stores disagree:\n" + "\n".join(problems))
