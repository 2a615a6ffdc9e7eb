"""benchmarks.scale_memory: the records it makes of a child's figures, without running the pipeline."""

from __future__ import annotations

import pytest

from benchmarks.scale_memory import SECTION, memory_records, slope_records


def _figures(rows: int, ingest_added: float, clean_added: float, retained: float) -> dict:
    return {
        "rows": rows,
        "start_rss_mb": 150.0,
        "retained_rss_mb": retained,
        "stages": {
            "ingest": {"seconds": 1.0, "start_rss_mb": 150.0, "peak_rss_mb": 150.0 + ingest_added},
            "clean": {"seconds": 9.0, "start_rss_mb": 300.0, "peak_rss_mb": 300.0 + clean_added},
        },
    }


def _value(records: list[dict], metric: str, stage: str, rows: int | None = None) -> float:
    return next(
        r["value"] for r in records if r["metric"] == metric and r["stage"] == stage and rows in (None, r["rows"])
    )


def test_each_stage_records_its_seconds_peak_and_what_it_added_above_its_start() -> None:
    records = memory_records(_figures(250_000, 40.0, 200.0, 480.0), {"section": SECTION, "config": "code abc"})
    assert _value(records, "rss_added_mb", "ingest") == 40.0
    assert _value(records, "peak_rss_mb", "clean") == 500.0
    assert _value(records, "retained_rss_mb", "clean") == 480.0
    assert {r["config"] for r in records} == {"code abc"} and {r["rows"] for r in records} == {250_000}


def test_growth_is_megabytes_per_100k_more_rows_from_the_smallest_size_to_the_largest() -> None:
    records = []
    for rows, ingest_added in ((250_000, 100.0), (500_000, 180.0), (1_000_000, 400.0)):
        records += memory_records(_figures(rows, ingest_added, 200.0, 600.0), {"config": "code new"})
    slopes = slope_records(records)
    assert _value(slopes, "rss_added_mb_per_100k_rows", "ingest") == pytest.approx(40.0)  # (400 - 100) / 7.5
    assert _value(slopes, "rss_added_mb_per_100k_rows", "clean") == 0.0  # flat
    assert all(r["rows"] == 1_000_000 and r["from_rows"] == 250_000 for r in slopes)


def test_codes_are_kept_apart_and_one_size_gives_no_growth() -> None:
    old = memory_records(_figures(250_000, 100.0, 300.0, 600.0), {"config": "code old"})
    old += memory_records(_figures(500_000, 200.0, 500.0, 900.0), {"config": "code old"})
    new = memory_records(_figures(250_000, 50.0, 300.0, 500.0), {"config": "code new"})
    slopes = slope_records(old + new)
    assert {r["config"] for r in slopes} == {"code old"}
    assert _value(slopes, "retained_rss_mb_per_100k_rows", "clean") == pytest.approx(120.0)
