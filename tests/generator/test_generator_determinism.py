"""Same config, same bytes; days do not depend on each other; reruns replace the output."""

from datetime import date

import pytest

from fraud_generator import GeneratorConfig, generate

SMALL = {"start": date(2024, 1, 1), "rows_per_day": 600, "defects": True}


def file_bytes(landing, pattern="**/*"):
    return {
        path.relative_to(landing).as_posix(): path.read_bytes()
        for path in sorted(landing.glob(pattern))
        if path.is_file()
    }


def test_same_config_writes_identical_bytes(tmp_path):
    first = generate(
        GeneratorConfig(tmp_path / "a", days=2, schema_defect="removed_column", **SMALL)
    )
    second = generate(
        GeneratorConfig(tmp_path / "b", days=2, schema_defect="removed_column", **SMALL)
    )
    assert file_bytes(first.landing_dir) == file_bytes(second.landing_dir)


def test_another_seed_writes_other_data(tmp_path):
    first = generate(GeneratorConfig(tmp_path / "a", days=1, seed=1, **SMALL))
    second = generate(GeneratorConfig(tmp_path / "b", days=1, seed=2, **SMALL))
    first_files = file_bytes(first.landing_dir, "transactions/**/*")
    second_files = file_bytes(second.landing_dir, "transactions/**/*")
    assert first_files.keys() == second_files.keys()
    with_data = set(first_files) - set(first.summary["empty_files"])
    assert all(first_files[name] != second_files[name] for name in with_data)


def test_a_day_does_not_depend_on_the_window(tmp_path):
    """Extending the window re-creates the earlier days byte for byte."""
    shorter = generate(GeneratorConfig(tmp_path / "a", days=2, **SMALL))
    longer = generate(GeneratorConfig(tmp_path / "b", days=3, **SMALL))
    shorter_files = file_bytes(shorter.landing_dir, "transactions/**/*")
    longer_files = file_bytes(longer.landing_dir, "transactions/**/*")
    assert shorter_files == {name: longer_files[name] for name in shorter_files}


def test_defects_do_not_change_the_clean_lines(tmp_path):
    clean = generate(GeneratorConfig(tmp_path / "a", days=1, start=date(2024, 1, 1)))
    defective = generate(GeneratorConfig(tmp_path / "b", days=1, **SMALL | {"rows_per_day": 1000}))
    clean_ids = clean.transactions.set_index("transaction_id")
    untouched = defective.transactions[
        defective.transactions.defect.isna() & defective.transactions.transaction_id.notna()
    ].set_index("transaction_id")
    compared = ["amount", "card_number", "merchant_id", "event_time_utc"]
    assert untouched[compared].equals(clean_ids.loc[untouched.index, compared])


def test_rerun_replaces_a_previous_output(tmp_path):
    generate(GeneratorConfig(tmp_path / "landing", days=2, **SMALL))
    truth = generate(GeneratorConfig(tmp_path / "landing", days=1, **SMALL))
    assert sorted(p.name for p in (tmp_path / "landing/transactions").iterdir()) == ["2024-01-01"]
    assert truth.summary["days"] == ["2024-01-01"]


def test_refuses_to_overwrite_foreign_landing_data(tmp_path):
    (tmp_path / "landing/transactions/2024-01-01").mkdir(parents=True)
    with pytest.raises(FileExistsError, match="not written by the generator"):
        generate(GeneratorConfig(tmp_path / "landing", days=1, **SMALL))


def test_invalid_config_is_refused(tmp_path):
    with pytest.raises(ValueError, match="files_per_day"):
        GeneratorConfig(tmp_path, date(2024, 1, 1), days=1, defects=True, files_per_day=1)
    with pytest.raises(ValueError, match="schema_defect"):
        GeneratorConfig(tmp_path, date(2024, 1, 1), days=1, schema_defect="dropped")
