"""Smoke test of the drift benchmark at a tiny scale (no timing is checked): the generated data
is what its truth says, the runner's suite verifies and measures every contender in its own
process, and the verification catches a metric that is off by more than 1e-9.

The Evidently contenders run only where their environment exists (`benchmarks/.venv-evidently`,
built by the suite on its first run in about 75 s): the test does not build it."""

from argparse import Namespace
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from benchmarks.drift import contenders, data, evidently_env, output, scipy_loop, suite, verify
from benchmarks.run import measure, run_once
from platform_assets.monitoring.drift import CATEGORICAL_METRICS

ROWS = 5_000


@pytest.fixture(scope="module")
def work_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("drift-bench")


@pytest.fixture(scope="module")
def folder(work_dir: Path) -> Path:
    return data.drift_data(work_dir, ROWS, seed=3)


def test_generated_data_is_what_its_truth_says(folder: Path):
    reference = pq.read_table(folder / data.REFERENCE_FILE)
    current = pq.read_table(folder / data.CURRENT_FILE)
    assert (reference.num_rows, current.num_rows) == (ROWS, ROWS // data.CURRENT_SHARE)
    assert reference.column_names == data.numeric_columns() + data.categorical_columns()
    assert len(data.numeric_columns()) == 40 and len(data.categorical_columns()) == 10
    for j, name in enumerate(data.numeric_columns()):
        has_nulls = reference[name].null_count > 0
        assert has_nulls == ("nulls" in data.shape_of(j)), name
    for j, name in enumerate(data.categorical_columns()):
        assert reference[name].null_count == current[name].null_count == 0
        levels = pc.count_distinct(reference[name]).as_py()
        assert levels <= data.CATEGORY_LEVELS[j]
    drifted = verify.drifted_columns(folder)
    assert len(drifted) == 8 + len(data.DRIFTED_CATEGORICAL)
    assert {data.shape_of(int(c[4:])) for c in drifted if c.startswith("num")} == set(
        data.NUMERIC_SHAPES
    )

    def new_levels(table):  # cat_08's levels 200 and up exist only in the drifted day
        return {v for v in table["cat_08"].to_pylist() if int(v.split("_")[1]) >= 200}

    assert new_levels(current) and not new_levels(reference)


def test_verification_stops_a_metric_off_by_more_than_1e_9(folder: Path, tmp_path: Path):
    with pytest.MonkeyPatch.context() as env:
        env.setenv(output.WRITE_VARIABLE, "1")
        scipy_loop.run(folder, data.DAY, tmp_path)
    oracle = output.read(tmp_path)
    close = oracle.copy()
    close["ks_p_value"] *= 1 + 1e-12
    assert verify.require_agreement({"oracle": oracle, "close": close}, "oracle")["close"].agrees
    off = oracle.copy()
    off.loc["num_05", "ks_p_value"] *= 1 + 1e-8
    with pytest.raises(verify.Disagreement, match="num_05 ks_p_value"):
        verify.require_agreement({"oracle": oracle, "off": off}, "oracle")
    assert np.isinf(verify.relative_difference(np.nan, 1.0))


def run_suite(work_dir: Path, chosen: list[str]):
    args = Namespace(
        rows=ROWS, contender=chosen, seed=3, work_dir=work_dir, repeats=1, no_verify=False
    )
    measurements, facts, render = suite.run(args, run_once, measure)
    return {m.contender: m for m in measurements}, render(measurements, 1, facts)


def test_suite_verifies_and_measures_every_contender(work_dir: Path):
    chosen = [n for n in contenders.CONTENDERS if n not in contenders.EVIDENTLY_CONTENDERS]
    by_name, text = run_suite(work_dir, chosen)
    assert set(by_name) == set(chosen)
    for name in (contenders.PLATFORM, contenders.FLOOR):
        agreement = by_name[name].counts["agreement"]
        assert agreement["agrees"], agreement["summary"]
    compared = {
        name: set(by_name[name].counts["agreement"]["largest"])
        for name in (contenders.PLATFORM, contenders.FLOOR)
    }
    assert compared[contenders.PLATFORM] == set(verify.METRICS["numeric"]) | set(
        verify.METRICS["categorical"]
    )
    assert compared[contenders.FLOOR] == {"psi", *CATEGORICAL_METRICS}
    platform = by_name[contenders.PLATFORM].counts
    assert set(platform["severities"]) == set(data.numeric_columns() + data.categorical_columns())
    assert platform["current_rows"] == ROWS // data.CURRENT_SHARE
    assert by_name[contenders.PLATFORM_REFERENCE].counts["reference_rows"] == ROWS
    assert "platform within 2x of the numpy floor" in text and "equal to scipy's" in text


@pytest.mark.skipif(
    not evidently_env.ready(),
    reason="no Evidently environment (run `python -m benchmarks.run --suite drift` once)",
)
def test_evidently_contenders_agree_where_the_definitions_are_the_same(work_dir: Path):
    by_name, text = run_suite(work_dir, [contenders.PLATFORM, *contenders.EVIDENTLY_CONTENDERS])
    defaults = by_name[contenders.EVIDENTLY].counts
    assert {verify.EVIDENTLY_METHOD_NAMES[s["method"]] for s in defaults["scores"]} == {
        "wasserstein",
        "jensenshannon",
    }
    same_tests = by_name[contenders.EVIDENTLY_SAME_TESTS].counts["evidently_agreement"]
    for method in ("wasserstein", "jensenshannon"):
        assert ": equal to" in same_tests[method], same_tests[method]
    assert ROWS <= verify.EXACT_KS_ROWS  # so Evidently's KS p-values are scipy's exact ones
    assert "exact p-value" in same_tests["ks"]
    for method in verify.DIFFERENT_DEFINITION:
        assert same_tests[method].endswith(verify.DIFFERENT_DEFINITION[method])
    assert "faster than Evidently's report" in text
