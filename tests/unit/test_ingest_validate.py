"""Ingest validation (pipeline/ingest/validate.py): unusable texts, ids, timestamps and unparseable records
become excluded rows with reasons.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from ingest_helpers import REVIEWS, rows_of

from pipeline.errors import InputError
from pipeline.ingest import ingest
from pipeline.schemas import EXCLUSION_REASONS


def test_unusable_text_values_are_kept_as_excluded_rows_with_reasons(write_jsonl):
    values = ["good text here", "", "   \t ", None, 42, 3.5, True, {"a": 1}, ["x"], "1,5", "-7"]
    path = write_jsonl([{"id": i, "text": v} for i, v in enumerate(values)])
    rows = rows_of(path)
    assert len(rows) == len(values)
    assert rows["exclusion_reason"].tolist() == [None, "empty", "whitespace_only", "empty", *["not_text"] * 7]
    assert rows["excluded"].tolist() == [False] + [True] * 10
    assert set(rows["exclusion_reason"].dropna()) <= set(EXCLUSION_REASONS)


def test_original_text_is_kept_untouched(write_jsonl):
    text = "  <b>Crashes</b>\ton   start!!  "
    assert rows_of(write_jsonl([{"text": text}]))["text"].tolist() == [text]


def test_missing_ids_are_generated_and_warned(tmp_path):
    path = tmp_path / "ids.parquet"
    pd.DataFrame({"id": [1.0, np.nan, 3.0], "text": REVIEWS}).to_parquet(path)
    result = ingest([path])
    assert result.rows["row_id"].tolist() == ["1", "ids.parquet:2", "3"]
    assert not result.rows["excluded"].any()
    assert any("row 2" in w and "'id'" in w and "missing id" in w for w in result.warnings)


def test_duplicate_ids_exclude_later_rows_and_stay_unique(write_csv):
    path = write_csv([["id", "text"], ["a", REVIEWS[0]], ["a", REVIEWS[1]], ["b", REVIEWS[2]], ["a", "again"]])
    result = ingest([path])
    rows = result.rows
    assert rows["exclusion_reason"].tolist() == [None, "duplicate_id", None, "duplicate_id"]
    assert rows["row_id"].is_unique
    assert rows.loc[0, "row_id"] == "a"
    assert sum("duplicate_id" in w for w in result.warnings) == 2
    assert any(str(path) in w and "row 3" in w for w in result.warnings)


def test_suffixed_duplicate_ids_do_not_collide_with_real_ids(write_csv):
    path = write_csv([["id", "text"], ["a", REVIEWS[0]], ["a", REVIEWS[1]], ["a#2", REVIEWS[2]]])
    rows = rows_of(path)
    assert rows["row_id"].is_unique
    assert rows["exclusion_reason"].tolist() == [None, "duplicate_id", None]
    assert rows.loc[2, "row_id"] == "a#2"


def test_ragged_csv_rows_are_excluded_in_place(write_csv):
    path = write_csv([["id", "text"], ["1", REVIEWS[0]], ["2", "too", "many", "fields"], ["3", REVIEWS[1]]])
    result = ingest([path])
    assert result.rows["source_row"].tolist() == [2, 3, 4]
    assert result.rows["exclusion_reason"].tolist() == [None, "unparseable", None]
    assert any("row 3" in w and "expected 2 fields, found 4" in w for w in result.warnings)


def test_the_excluded_flag_is_boolean_whatever_the_rows_are(write_csv):
    ragged = [["2", "too", "many", "fields"]] * 5
    for rows in ([["1", REVIEWS[0]], *ragged], [*ragged, ["1", ""]]):
        path = write_csv([["id", "text"], *rows])
        assert ingest([path]).rows["excluded"].dtype == bool


def test_a_csv_whose_every_record_is_ragged_is_an_input_error_naming_the_likely_cause(write_csv):
    path = write_csv([["id", "text"], *[[str(i), "slow", "and", "broken"] for i in range(4)]])
    with pytest.raises(InputError, match=r"no parseable records \(4 in all\).*unquoted delimiter"):
        ingest([path])


def test_mixed_timestamp_formats_are_parsed_to_utc(write_csv):
    stamps = ["2024-01-02", "2024-01-03T10:00:00Z", "2024-01-04 12:30", "2024-01-05T10:00:00+02:00", "Jan 6, 2024"]
    path = write_csv([["id", "text", "created_at"], *[[i, f"text number {i}", s] for i, s in enumerate(stamps)]])
    times = rows_of(path)["time"]
    assert str(times.dtype) == "datetime64[ns, UTC]"
    assert times.tolist() == [
        pd.Timestamp("2024-01-02", tz="UTC"),
        pd.Timestamp("2024-01-03 10:00", tz="UTC"),
        pd.Timestamp("2024-01-04 12:30", tz="UTC"),
        pd.Timestamp("2024-01-05 08:00", tz="UTC"),
        pd.Timestamp("2024-01-06", tz="UTC"),
    ]


@pytest.mark.parametrize(("values", "unit"), [([1704067200, 1704153600], "s"), ([1704067200000, 1704153600000], "ms")])
def test_epoch_timestamps_in_seconds_or_milliseconds(write_csv, values, unit):
    path = write_csv([["id", "text", "time"], *[[i, f"text {i}", v] for i, v in enumerate(values)]])
    expected = pd.to_datetime(values, unit=unit, utc=True)
    assert rows_of(path)["time"].tolist() == list(expected)


@pytest.mark.parametrize("bad", ["not a date", "2024-13-45", "3000-01-01", "1700000000000000000000"])
def test_an_unparseable_or_out_of_range_timestamp_excludes_the_row_with_a_reason(write_csv, bad):
    path = write_csv([["id", "text", "time"], ["1", REVIEWS[0], "2024-02-03"], ["2", REVIEWS[1], bad]])
    result = ingest([path])
    assert result.rows["time"].isna().tolist() == [False, True]
    assert result.rows["exclusion_reason"].tolist() == [None, "bad_time"]
    assert any("row 3" in w and "'time'" in w and "bad_time" in w for w in result.warnings)


def test_a_future_timestamp_excludes_the_row_and_an_empty_one_does_not(write_csv):
    future = (pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=30)).strftime("%Y-%m-%d")
    path = write_csv([["id", "text", "time"], ["1", REVIEWS[0], future], ["2", REVIEWS[1], ""]])
    rows = ingest([path]).rows
    assert rows["exclusion_reason"].tolist() == ["future_time", None]
    assert rows["time"].isna().tolist() == [False, True]


def test_epoch_values_out_of_range_are_unparseable_not_a_crash(write_csv):
    path = write_csv([["id", "text", "time"], ["1", REVIEWS[0], "1700000000"], ["2", REVIEWS[1], "1700000000000000"]])
    times = rows_of(path)["time"]
    assert times.isna().tolist() == [False, True]


def test_a_few_numbers_in_the_text_column_are_excluded_not_fatal(write_csv):
    path = write_csv([["id", "text"], ["1", REVIEWS[0]], ["2", "12345"], ["3", REVIEWS[1]], ["4", REVIEWS[2]]])
    result = ingest([path])
    assert result.rows["exclusion_reason"].tolist() == [None, "not_text", None, None]
    assert any("row 3" in w and "'text'" in w and "not text" in w for w in result.warnings)


def test_undecodable_bytes_in_a_parquet_text_cell_are_not_text(tmp_path):
    path = tmp_path / "bytes.parquet"
    pd.DataFrame({"text": [b"fine text here", b"\xff\xfe\xfa broken"]}).to_parquet(path)
    rows = rows_of(path)
    assert rows["text"].tolist()[0] == "fine text here"
    assert rows["exclusion_reason"].tolist() == [None, "not_text"]
