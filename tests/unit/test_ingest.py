"""Ingest: every record of every file becomes one row, in input order, mapped to the schema."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.config import IngestConfig
from pipeline.errors import InputError
from pipeline.ingest import ingest, ingest_frame
from pipeline.schemas import EXCLUSION_REASONS, INGESTED

REVIEWS = ["The app crashes on start", "Love the new dark mode", "Search never finds my files"]


def _rows(path: Path, **config: object):
    return ingest([path], IngestConfig(**config)).rows


# --- formats ---------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_csv_delimiter_is_sniffed(write_csv, delimiter):
    path = write_csv([["id", "text", "rating"], *[[i, t, 5] for i, t in enumerate(REVIEWS)]], delimiter=delimiter)
    rows = _rows(path)
    assert rows["text"].tolist() == REVIEWS
    assert rows["rating"].tolist() == ["5", "5", "5"]


def test_tsv_suffix_reads_tabs(write_csv):
    path = write_csv([["id", "text"], *[[i, t] for i, t in enumerate(REVIEWS)]], name="export.tsv", delimiter="\t")
    assert _rows(path)["text"].tolist() == REVIEWS


@pytest.mark.parametrize(
    "texts",
    [
        ["x;y crash", "don't app", "| a,b 'q' a,b good |", "| love,", "it's", "good", "good app don't it's"],
        ["I love it; really", "Slow; laggy; broken", "Ok; fine"],
        ["a|b|c", "d|e|f", "g|h"],
    ],
)
def test_delimiters_inside_texts_do_not_fool_the_sniffer(write_csv, texts):
    path = write_csv([["id", "text"], *[[i, t] for i, t in enumerate(texts)]])
    rows = _rows(path)
    assert rows["text"].tolist() == texts
    assert not rows["excluded"].any()


def test_single_column_csv_keeps_each_line_whole(tmp_path):
    path = tmp_path / "texts.csv"
    path.write_text("text\nslow; very slow\ncrashes | freezes\n", encoding="utf-8")
    assert _rows(path)["text"].tolist() == ["slow; very slow", "crashes | freezes"]


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_utf8_bom_is_not_part_of_the_first_column_name(tmp_path, delimiter):
    path = tmp_path / "bom.csv"
    path.write_bytes(f"\ufeffid{delimiter}text\n1{delimiter}Café crème is great\n".encode())
    rows = _rows(path)
    assert rows["row_id"].tolist() == ["1"]
    assert rows["text"].tolist() == ["Café crème is great"]


def test_latin1_fallback_decodes_and_warns_naming_the_line(tmp_path, caplog):
    path = tmp_path / "latin.csv"
    path.write_bytes("id,text\n1,plain ascii text\n2,café crème brûlée\n".encode("latin-1"))
    with caplog.at_level(logging.WARNING, logger="pipeline"):
        result = ingest([path])
    assert result.rows["text"].tolist() == ["plain ascii text", "café crème brûlée"]
    assert len(result.warnings) == 1
    assert str(path) in result.warnings[0] and "row 3" in result.warnings[0] and "Latin-1" in result.warnings[0]
    assert any("Latin-1" in r.getMessage() for r in caplog.records)


def test_jsonl_records_in_line_order(write_jsonl):
    path = write_jsonl([{"id": f"r{i}", "text": t, "locale": "en"} for i, t in enumerate(REVIEWS)])
    rows = _rows(path)
    assert rows["row_id"].tolist() == ["r0", "r1", "r2"]
    assert rows["text"].tolist() == REVIEWS
    assert rows["source_row"].tolist() == [1, 2, 3]
    assert rows["locale"].tolist() == ["en"] * 3


def test_json_array(tmp_path):
    path = tmp_path / "export.json"
    pd.Series(REVIEWS).to_frame("comment").to_json(path, orient="records", indent=2)
    rows = _rows(path)
    assert rows["text"].tolist() == REVIEWS
    assert rows["source_row"].tolist() == [1, 2, 3]


def test_parquet(tmp_path):
    path = tmp_path / "export.parquet"
    pd.DataFrame({"feedback_id": [10, 11, 12], "body": REVIEWS}).to_parquet(path)
    rows = _rows(path)
    assert rows["row_id"].tolist() == ["10", "11", "12"]
    assert rows["text"].tolist() == REVIEWS


def test_xlsx_rows_are_numbered_like_the_sheet(tmp_path):
    path = tmp_path / "export.xlsx"
    frame = pd.DataFrame(
        {"Ticket ID": ["T1", "T2", "T3"], "Comment": REVIEWS, "Created": pd.date_range("2024-05-01", periods=3)}
    )
    frame.to_excel(path, index=False, engine="openpyxl")
    rows = _rows(path)
    assert rows["row_id"].tolist() == ["T1", "T2", "T3"]
    assert rows["text"].tolist() == REVIEWS
    assert rows["source_row"].tolist() == [2, 3, 4]  # the header is sheet row 1
    assert rows["time"].dt.strftime("%Y-%m-%d").tolist() == ["2024-05-01", "2024-05-02", "2024-05-03"]


def test_parquet_datetime_columns_become_utc_times(tmp_path):
    path = tmp_path / "times.parquet"
    local = pd.to_datetime(["2024-01-02 10:00", "2024-07-02 10:00"]).tz_localize("Europe/Berlin")
    pd.DataFrame({"text": REVIEWS[:2], "created_at": local}).to_parquet(path)
    times = _rows(path)["time"]
    assert times.tolist() == [pd.Timestamp("2024-01-02 09:00", tz="UTC"), pd.Timestamp("2024-07-02 08:00", tz="UTC")]


def test_xlsx_sheet_by_name(tmp_path):
    path = tmp_path / "export.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame({"x": [1]}).to_excel(writer, sheet_name="Summary", index=False)
        pd.DataFrame({"text": REVIEWS}).to_excel(writer, sheet_name="Raw", index=False)
    assert _rows(path, sheet="Raw")["text"].tolist() == REVIEWS


def test_output_has_the_ingested_schema_plus_metadata(write_csv):
    path = write_csv([["id", "text", "platform"], ["1", REVIEWS[0], "ios"]])
    result = ingest([path])
    assert list(result.rows.columns) == [*INGESTED, "platform"]
    assert result.meta_columns == ["platform"]
    assert result.files == [{"path": str(path), "rows": 1, "bytes": path.stat().st_size}]


# --- column mapping --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text_name", "id_name", "time_name"),
    [
        ("text", "id", "timestamp"),
        ("Review Text", "Review ID", "created_at"),
        ("feedback", "feedback-id", "Date"),
        ("Content", "uuid", "submitted"),
    ],
)
def test_columns_are_detected_by_common_names(write_csv, text_name, id_name, time_name):
    path = write_csv([[id_name, text_name, time_name, "locale"], ["a1", REVIEWS[0], "2024-03-05", "de"]])
    rows = _rows(path)
    assert rows.loc[0, "row_id"] == "a1"
    assert rows.loc[0, "text"] == REVIEWS[0]
    assert rows.loc[0, "time"] == pd.Timestamp("2024-03-05", tz="UTC")
    assert rows.loc[0, "locale"] == "de"


def test_flags_map_columns_with_unusual_names(write_csv):
    path = write_csv(
        [["ref", "what_they_said", "when", "query", "junk"], ["Q1", REVIEWS[0], "2024-01-02", "maps", "x"]]
    )
    rows = _rows(path, text_col="what_they_said", id_col="ref", time_col="when", meta_cols=["query"])
    assert list(rows.columns) == [*INGESTED, "query"]
    assert rows.loc[0, "row_id"] == "Q1"
    assert rows.loc[0, "text"] == REVIEWS[0]
    assert rows.loc[0, "time"] == pd.Timestamp("2024-01-02", tz="UTC")


def test_flag_matches_column_case_insensitively(write_csv):
    path = write_csv([["Body", "x"], [REVIEWS[0], "1"]])
    assert _rows(path, text_col="body")["text"].tolist() == [REVIEWS[0]]


def test_meta_column_named_like_a_pipeline_column_is_prefixed(write_csv):
    header = ["id", "text", "status", "truncated", "lemmas", "duplicate_of", "theme_id_reassigned"]
    path = write_csv([header, ["1", REVIEWS[0], "open", "no", "l", "d", "t"]])
    result = ingest([path])
    assert result.meta_columns == [f"meta_{c}" for c in header[2:]]
    assert result.rows.loc[0, "meta_truncated"] == "no"


def test_ids_are_generated_from_file_and_row_when_absent(write_csv):
    path = write_csv([["text"], *[[t] for t in REVIEWS]], name="ids.csv")
    assert _rows(path)["row_id"].tolist() == ["ids.csv:2", "ids.csv:3", "ids.csv:4"]


def test_several_files_in_one_run_keep_file_order_and_union_metadata(write_csv, write_jsonl):
    a = write_csv([["id", "text", "platform"], ["a1", REVIEWS[0], "ios"]], name="a.csv")
    b = write_jsonl(
        [{"id": "b1", "text": REVIEWS[1], "locale": "fr"}, {"id": "b2", "text": REVIEWS[2]}], name="b.jsonl"
    )
    result = ingest([a, b])
    rows = result.rows
    assert rows["row_id"].tolist() == ["a1", "b1", "b2"]
    assert rows["source_file"].tolist() == [str(a), str(b), str(b)]
    assert result.meta_columns == ["platform", "locale"]
    assert rows["platform"].where(rows["platform"].notna(), None).tolist() == ["ios", None, None]
    assert rows["locale"].where(rows["locale"].notna(), None).tolist() == [None, "fr", None]
    assert [f["rows"] for f in result.files] == [1, 2]


def test_files_with_the_same_name_in_different_folders_are_not_duplicates(tmp_path):
    paths = []
    for folder, texts in (("monday", REVIEWS[:2]), ("tuesday", REVIEWS[1:])):
        (tmp_path / folder).mkdir()
        path = tmp_path / folder / "export.csv"
        path.write_text("text\n" + "\n".join(texts) + "\n", encoding="utf-8")
        paths.append(path)
    rows = ingest(paths).rows
    assert not rows["excluded"].any()
    assert rows["row_id"].is_unique


def test_ingest_frame_uses_the_same_rules():
    frame = pd.DataFrame({"comment": [REVIEWS[0], "  ", None, "42"], "id": [1, 2, 3, 4]})
    rows = ingest_frame(frame).rows
    assert rows["row_id"].tolist() == ["1", "2", "3", "4"]
    assert rows["exclusion_reason"].tolist() == [None, "whitespace_only", "empty", "not_text"]


# --- values ----------------------------------------------------------------------------------


def test_unusable_text_values_are_kept_as_excluded_rows_with_reasons(write_jsonl):
    values = ["good text here", "", "   \t ", None, 42, 3.5, True, {"a": 1}, ["x"], "1,5", "-7"]
    path = write_jsonl([{"id": i, "text": v} for i, v in enumerate(values)])
    rows = _rows(path)
    assert len(rows) == len(values)
    assert rows["exclusion_reason"].tolist() == [None, "empty", "whitespace_only", "empty", *["not_text"] * 7]
    assert rows["excluded"].tolist() == [False] + [True] * 10
    assert set(rows["exclusion_reason"].dropna()) <= set(EXCLUSION_REASONS)


def test_original_text_is_kept_untouched(write_jsonl):
    text = "  <b>Crashes</b>\ton   start!!  "
    assert _rows(write_jsonl([{"text": text}]))["text"].tolist() == [text]


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
    rows = _rows(path)
    assert rows["row_id"].is_unique
    assert rows["exclusion_reason"].tolist() == [None, "duplicate_id", None]
    assert rows.loc[2, "row_id"] == "a#2"


def test_malformed_json_lines_are_excluded_as_unparseable(write_jsonl):
    path = write_jsonl(
        [{"id": 1, "text": REVIEWS[0]}, '{"id": 2, "text": "cut off', "[1, 2]", {"id": 4, "text": REVIEWS[1]}]
    )
    result = ingest([path])
    rows = result.rows
    assert rows["source_row"].tolist() == [1, 2, 3, 4]
    assert rows["exclusion_reason"].tolist() == [None, "unparseable", "unparseable", None]
    assert any("row 2" in w and "malformed JSON" in w for w in result.warnings)


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


def test_blank_lines_and_multiline_fields_keep_line_numbers(tmp_path):
    path = tmp_path / "lines.csv"
    path.write_text('id,text\n\n1,"first line\nsecond line"\n2,next one\n', encoding="utf-8")
    rows = _rows(path)
    assert rows["source_row"].tolist() == [3, 5]
    assert rows["text"].tolist() == ["first line\nsecond line", "next one"]


def test_mixed_timestamp_formats_are_parsed_to_utc(write_csv):
    stamps = ["2024-01-02", "2024-01-03T10:00:00Z", "2024-01-04 12:30", "2024-01-05T10:00:00+02:00", "Jan 6, 2024"]
    path = write_csv([["id", "text", "created_at"], *[[i, f"text number {i}", s] for i, s in enumerate(stamps)]])
    times = _rows(path)["time"]
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
    assert _rows(path)["time"].tolist() == list(expected)


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
    times = _rows(path)["time"]
    assert times.isna().tolist() == [False, True]


def test_a_few_numbers_in_the_text_column_are_excluded_not_fatal(write_csv):
    path = write_csv([["id", "text"], ["1", REVIEWS[0]], ["2", "12345"], ["3", REVIEWS[1]], ["4", REVIEWS[2]]])
    result = ingest([path])
    assert result.rows["exclusion_reason"].tolist() == [None, "not_text", None, None]
    assert any("row 3" in w and "'text'" in w and "not text" in w for w in result.warnings)


def test_undecodable_bytes_in_a_parquet_text_cell_are_not_text(tmp_path):
    path = tmp_path / "bytes.parquet"
    pd.DataFrame({"text": [b"fine text here", b"\xff\xfe\xfa broken"]}).to_parquet(path)
    rows = _rows(path)
    assert rows["text"].tolist()[0] == "fine text here"
    assert rows["exclusion_reason"].tolist() == [None, "not_text"]


# --- whole-input errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("empty.csv", b"", "empty"),
        ("blank.csv", b"\n\n  \n", "no header"),
        ("header.csv", b"id,text\n", "no data rows"),
        ("header.jsonl", b"\n", "no data rows"),
        ("empty.json", b"[]", "no data rows"),
        ("bad.json", b'[{"text": "a"},', "malformed JSON"),
        ("allbad.jsonl", b"{oops\n{nope\n", "no parseable records"),
        ("dup.csv", b"text,text\na,b\n", "appears twice"),
        ("x.parquet", b"not parquet", "cannot read as Parquet"),
        ("x.xlsx", b"not a zip", "cannot read as XLSX"),
        ("x.doc", b"text\nhello", "unknown format"),
    ],
)
def test_unusable_files_raise_one_line_input_errors_naming_the_file(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        ingest([path])
    message = str(info.value)
    assert expected in message
    assert str(path) in message
    assert "\n" not in message


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        ingest([tmp_path / "nope.csv"])


def test_no_files():
    with pytest.raises(InputError):
        ingest([])


def test_missing_text_column_lists_the_columns_found(write_csv):
    path = write_csv([["id", "rating", "locale"], ["1", "5", "en"]])
    with pytest.raises(InputError, match=r"no text column.*'id', 'rating', 'locale'.*--text-col"):
        ingest([path])


def test_unknown_text_col_flag_lists_the_columns_found(write_csv):
    path = write_csv([["id", "text"], ["1", REVIEWS[0]]])
    with pytest.raises(InputError, match=r"'body' not found.*'id', 'text'"):
        _rows(path, text_col="body")


def test_unknown_meta_column(write_csv):
    path = write_csv([["id", "text"], ["1", REVIEWS[0]]])
    with pytest.raises(InputError, match=r"metadata column 'locale' not found"):
        _rows(path, meta_cols=["locale"])


def test_two_candidate_text_columns_ask_which(write_csv):
    path = write_csv([["id", "review", "comment"], ["1", REVIEWS[0], REVIEWS[1]]])
    with pytest.raises(InputError, match=r"several columns.*'review', 'comment'.*--text-col"):
        ingest([path])
    assert _rows(path, text_col="comment")["text"].tolist() == [REVIEWS[1]]


def test_a_column_of_numbers_is_refused_as_text(write_csv):
    path = write_csv([["id", "text", "note"], *[[i, i * 1.5, "x"] for i in range(10)]])
    with pytest.raises(InputError, match=r"column 'text'.*numbers.*--text-col"):
        ingest([path])


def test_a_line_of_empty_cells_is_a_record_excluded_as_empty(tmp_path):
    path = tmp_path / "cells.csv"
    path.write_text(",\nid,text\n1,hello there\n,\n  ,  \n2,general kenobi\n", encoding="utf-8")
    rows = _rows(path)
    assert rows["source_row"].tolist() == [3, 4, 5, 6]  # the delimiters-only line above the header is skipped
    assert rows["exclusion_reason"].tolist() == [None, "empty", "whitespace_only", None]


def test_excel_style_csv_with_bom_and_crlf(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(b'\xef\xbb\xbfid,text\r\n1,"two\r\nlines"\r\n2,next\r\n')
    rows = _rows(path)
    assert rows["row_id"].tolist() == ["1", "2"]
    assert rows["source_row"].tolist() == [2, 4]


def test_an_unclosed_quote_is_reported_not_passed_off_as_one_text(tmp_path):
    path = tmp_path / "quote.csv"
    path.write_text('id,text\n1,5" screen is tiny\n2,"never closed\n3,swallowed\n4,also swallowed\n', encoding="utf-8")
    result = ingest([path])
    assert result.rows["source_row"].tolist() == [2, 3]
    assert result.rows["exclusion_reason"].tolist() == [None, "unparseable"]
    assert any("row 3" in w and "never closes" in w for w in result.warnings)


def test_a_multiline_last_record_is_not_mistaken_for_an_unclosed_quote(tmp_path):
    path = tmp_path / "quote.csv"
    path.write_text('id,text\n1,5" screen is tiny\n2,"closed\nproperly"\n', encoding="utf-8")
    rows = _rows(path)
    assert rows["exclusion_reason"].tolist() == [None, None]
    assert rows["text"].tolist()[1] == "closed\nproperly"


def test_the_encoding_check_streams_the_file_and_still_names_the_line(tmp_path):
    # Lines of "é" (two bytes in UTF-8) make some multibyte character straddle the 1 MiB pieces read.
    lines = [f"{i},Crème brûlée number {i} é" for i in range(40_000)]
    good = tmp_path / "good.csv"
    good.write_bytes(("id,text\n" + "\n".join(lines) + "\n").encode("utf-8"))
    result = ingest([good])
    assert not any("UTF-8" in w for w in result.warnings)
    assert result.rows["text"].iloc[-1] == "Crème brûlée number 39999 é"

    bad = tmp_path / "bad.csv"
    bad.write_bytes(("id,text\n" + "\n".join(lines) + "\n").encode("utf-8") + "40000,café\n".encode("cp1252"))
    result = ingest([bad])
    assert any("row 40002" in w and "not valid UTF-8 (byte 0xe9)" in w for w in result.warnings)
    assert result.rows["text"].iloc[-1] == "café"
