"""Ingest readers (pipeline/ingest/readers.py): each format read record by record, in input order;
unreadable files are one-line errors.
"""

from __future__ import annotations

import logging

import pandas as pd
import pytest
from ingest_helpers import REVIEWS, rows_of

from pipeline.errors import InputError
from pipeline.ingest import ingest


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_csv_delimiter_is_sniffed(write_csv, delimiter):
    path = write_csv([["id", "text", "rating"], *[[i, t, 5] for i, t in enumerate(REVIEWS)]], delimiter=delimiter)
    rows = rows_of(path)
    assert rows["text"].tolist() == REVIEWS
    assert rows["rating"].tolist() == ["5", "5", "5"]


def test_tsv_suffix_reads_tabs(write_csv):
    path = write_csv([["id", "text"], *[[i, t] for i, t in enumerate(REVIEWS)]], name="export.tsv", delimiter="\t")
    assert rows_of(path)["text"].tolist() == REVIEWS


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
    rows = rows_of(path)
    assert rows["text"].tolist() == texts
    assert not rows["excluded"].any()


def test_single_column_csv_keeps_each_line_whole(tmp_path):
    path = tmp_path / "texts.csv"
    path.write_text("text\nslow; very slow\ncrashes | freezes\n", encoding="utf-8")
    assert rows_of(path)["text"].tolist() == ["slow; very slow", "crashes | freezes"]


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_utf8_bom_is_not_part_of_the_first_column_name(tmp_path, delimiter):
    path = tmp_path / "bom.csv"
    path.write_bytes(f"\ufeffid{delimiter}text\n1{delimiter}Café crème is great\n".encode())
    rows = rows_of(path)
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
    rows = rows_of(path)
    assert rows["row_id"].tolist() == ["r0", "r1", "r2"]
    assert rows["text"].tolist() == REVIEWS
    assert rows["source_row"].tolist() == [1, 2, 3]
    assert rows["locale"].tolist() == ["en"] * 3


def test_json_array(tmp_path):
    path = tmp_path / "export.json"
    pd.Series(REVIEWS).to_frame("comment").to_json(path, orient="records", indent=2)
    rows = rows_of(path)
    assert rows["text"].tolist() == REVIEWS
    assert rows["source_row"].tolist() == [1, 2, 3]


def test_parquet(tmp_path):
    path = tmp_path / "export.parquet"
    pd.DataFrame({"feedback_id": [10, 11, 12], "body": REVIEWS}).to_parquet(path)
    rows = rows_of(path)
    assert rows["row_id"].tolist() == ["10", "11", "12"]
    assert rows["text"].tolist() == REVIEWS


def test_xlsx_rows_are_numbered_like_the_sheet(tmp_path):
    path = tmp_path / "export.xlsx"
    frame = pd.DataFrame(
        {"Ticket ID": ["T1", "T2", "T3"], "Comment": REVIEWS, "Created": pd.date_range("2024-05-01", periods=3)}
    )
    frame.to_excel(path, index=False, engine="openpyxl")
    rows = rows_of(path)
    assert rows["row_id"].tolist() == ["T1", "T2", "T3"]
    assert rows["text"].tolist() == REVIEWS
    assert rows["source_row"].tolist() == [2, 3, 4]  # the header is sheet row 1
    assert rows["time"].dt.strftime("%Y-%m-%d").tolist() == ["2024-05-01", "2024-05-02", "2024-05-03"]


def test_parquet_datetime_columns_become_utc_times(tmp_path):
    path = tmp_path / "times.parquet"
    local = pd.to_datetime(["2024-01-02 10:00", "2024-07-02 10:00"]).tz_localize("Europe/Berlin")
    pd.DataFrame({"text": REVIEWS[:2], "created_at": local}).to_parquet(path)
    times = rows_of(path)["time"]
    assert times.tolist() == [pd.Timestamp("2024-01-02 09:00", tz="UTC"), pd.Timestamp("2024-07-02 08:00", tz="UTC")]


def test_xlsx_sheet_by_name(tmp_path):
    path = tmp_path / "export.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame({"x": [1]}).to_excel(writer, sheet_name="Summary", index=False)
        pd.DataFrame({"text": REVIEWS}).to_excel(writer, sheet_name="Raw", index=False)
    assert rows_of(path, sheet="Raw")["text"].tolist() == REVIEWS


def test_malformed_json_lines_are_excluded_as_unparseable(write_jsonl):
    path = write_jsonl(
        [{"id": 1, "text": REVIEWS[0]}, '{"id": 2, "text": "cut off', "[1, 2]", {"id": 4, "text": REVIEWS[1]}]
    )
    result = ingest([path])
    rows = result.rows
    assert rows["source_row"].tolist() == [1, 2, 3, 4]
    assert rows["exclusion_reason"].tolist() == [None, "unparseable", "unparseable", None]
    assert any("row 2" in w and "malformed JSON" in w for w in result.warnings)


def test_blank_lines_and_multiline_fields_keep_line_numbers(tmp_path):
    path = tmp_path / "lines.csv"
    path.write_text('id,text\n\n1,"first line\nsecond line"\n2,next one\n', encoding="utf-8")
    rows = rows_of(path)
    assert rows["source_row"].tolist() == [3, 5]
    assert rows["text"].tolist() == ["first line\nsecond line", "next one"]


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


def test_a_line_of_empty_cells_is_a_record_excluded_as_empty(tmp_path):
    path = tmp_path / "cells.csv"
    path.write_text(",\nid,text\n1,hello there\n,\n  ,  \n2,general kenobi\n", encoding="utf-8")
    rows = rows_of(path)
    assert rows["source_row"].tolist() == [3, 4, 5, 6]  # the delimiters-only line above the header is skipped
    assert rows["exclusion_reason"].tolist() == [None, "empty", "whitespace_only", None]


def test_excel_style_csv_with_bom_and_crlf(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(b'\xef\xbb\xbfid,text\r\n1,"two\r\nlines"\r\n2,next\r\n')
    rows = rows_of(path)
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
    rows = rows_of(path)
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
