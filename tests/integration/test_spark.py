"""The Spark engine: the same tables as the local engine, and one clear line for each bad input.

Spark runs in ``local[2]`` with a Java runtime from the machine (``make setup`` installs one). The
equivalence runs use the model-free stand-ins (hashing embedder, PCA, ``blank:en``) so that they
prove the engine, not the models: every embedding is a pure function of its text in both engines.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import FAST_OVERRIDES, REPO

from pipeline import run
from pipeline.errors import ConfigError, InputError

pyspark = pytest.importorskip("pyspark")

pytestmark = pytest.mark.slow

REPLAY = REPO / "data" / "sample" / "app_reviews_replay.csv"
TABLES = ("feedback.parquet", "themes.parquet", "categories.parquet", "alerts.parquet", "queries.parquet")


@pytest.fixture(scope="module")
def spark() -> Any:
    from pipeline.engines.spark import start_session

    session = start_session("local[2]")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """700 replayed reviews (dated, with a search-query column), one record per line, one repeated id."""
    frame = pd.read_csv(REPLAY, dtype=str, keep_default_na=False).head(700)
    frame["Content"] = frame["Content"].str.replace(r"\s+", " ", regex=True)
    frame["search_query"] = np.where(np.arange(len(frame)) % 3 == 0, "dark mode", "")
    frame.loc[5, "Review id"] = frame.loc[4, "Review id"]  # a duplicate id: excluded in both engines
    path = tmp_path_factory.mktemp("spark") / "reviews.csv"
    frame.to_csv(path, index=False, quoting=csv.QUOTE_MINIMAL)
    return path


def _overrides(tmp: Path, **extra: Any) -> dict[str, Any]:
    return {
        **FAST_OVERRIDES,
        "ingest.text_col": "Content",
        "ingest.id_col": "Review id",
        "ingest.time_col": "Date",
        "embed.cache_dir": str(tmp / "cache"),
        "output.out_dir": str(tmp / "out"),
        "trends.novelty": False,  # the Spark engine skips it (it needs every in-window row's vector)
        **extra,
    }


def _canonical(value: Any) -> Any:
    """One spelling per value: missing as None, arrays as tuples, floats to 5 places, times in UTC."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return tuple(_canonical(v) for v in value)
    if value is None or value is pd.NaT or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (float, np.floating)):
        return round(float(value), 5)
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    return value


def _assert_same_table(local: pd.DataFrame, spark: pd.DataFrame, name: str) -> None:
    assert list(local.columns) == list(spark.columns), name
    assert local.dtypes.to_dict() == spark.dtypes.to_dict(), name
    assert len(local) == len(spark), name
    for column in local.columns:
        left = [_canonical(v) for v in local[column]]
        right = [_canonical(v) for v in spark[column]]
        assert left == right, f"{name}: column {column!r} differs"


@pytest.fixture(scope="module")
def both_engines(spark: Any, export: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("engines")
    overrides = _overrides(tmp)
    local = run(export, overrides={**overrides, "output.run_id": "local"})
    remote = run(export, overrides={**overrides, "output.run_id": "spark"}, spark=spark)
    return {"local": local, "spark": remote}


def test_spark_and_local_engines_write_the_same_tables(both_engines: dict[str, Any]) -> None:
    local_dir, spark_dir = both_engines["local"].run_dir, both_engines["spark"].run_dir
    for name in TABLES:
        _assert_same_table(pd.read_parquet(local_dir / name), pd.read_parquet(spark_dir / name), name)
    assert sorted(p.name for p in local_dir.iterdir()) == sorted(p.name for p in spark_dir.iterdir())


def test_spark_and_local_engines_assign_every_row_to_the_same_theme(both_engines: dict[str, Any]) -> None:
    local, remote = both_engines["local"], both_engines["spark"]
    assert local.accounting == remote.accounting
    assert local.accounting["excluded_by_reason"].get("duplicate_id") == 1
    assert np.array_equal(local.feedback["theme_id"].to_numpy(), remote.feedback["theme_id"].to_numpy())
    assert len(local.themes) >= 2  # a real clustering, not one group
    assert remote.manifest["engine"]["name"] == "spark"
    assert remote.manifest["packages"]["pyspark"]


def test_a_spark_run_fitted_on_a_sample_assigns_the_rest(spark: Any, export: Path, tmp_path: Path) -> None:
    result = run(export, overrides=_overrides(tmp_path, **{"scale.sample_size": 200}), spark=spark, write=False)
    cluster = result.manifest["cluster"]
    assert cluster["fitted_on"]["texts"] == 200
    assert cluster["assigned"]["texts"] > 0
    assigned = result.feedback["assigned"]
    assert int(assigned.sum()) == cluster["assigned"]["rows"]
    acc = result.accounting
    assert acc["rows_in"] == 700 == acc["themed"] + acc["outliers"] + acc["excluded"]
    assert int(result.themes["size"].sum()) == acc["themed"]


def test_a_missing_table_is_one_line(spark: Any, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no_such_table: cannot be read: \[TABLE_OR_VIEW_NOT_FOUND\]") as info:
        run("no_such_table", overrides=_overrides(tmp_path), spark=spark)
    assert "\n" not in str(info.value)


def test_a_folder_without_data_files_is_one_line(spark: Any, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"no \.csv, \.jsonl or \.parquet files"):
        run(tmp_path / "empty", overrides=_overrides(tmp_path), spark=spark)


def test_a_schema_without_the_text_column_names_the_columns(spark: Any, tmp_path: Path) -> None:
    path = tmp_path / "rows.parquet"
    pd.DataFrame({"body": ["a", "b"], "when": ["2026-01-01", "2026-01-02"]}).to_parquet(path)
    with pytest.raises(InputError, match=r"column 'Content' .*not found|'Content'.*\['body', 'when'\]"):
        run(path, overrides=_overrides(tmp_path), spark=spark)


def test_an_unreachable_master_fails_fast_with_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"Spark master 'spark://127\.0\.0\.1:9' cannot be reached"):
        run(
            REPLAY,
            overrides=_overrides(tmp_path, **{"scale.engine": "spark", "scale.spark_master": "spark://127.0.0.1:9"}),
        )


def test_the_cli_reports_spark_problems_without_a_java_stack_trace(tmp_path: Path) -> None:
    env = {**os.environ, "FEEDBACK_INSIGHTS_CACHE": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", str(REPLAY), "--engine", "spark", "--master", "spark://127.0.0.1:9",
         "--out", str(tmp_path / "out")],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: Spark master 'spark://127.0.0.1:9' cannot be reached")
    assert "at org.apache" not in done.stderr and "Traceback" not in done.stderr


def test_options_the_spark_engine_lacks_are_refused_by_name(spark: Any, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cluster\.points = 'rows' is not available with --engine spark"):
        run(REPLAY, overrides=_overrides(tmp_path, **{"cluster.points": "rows"}), spark=spark)
