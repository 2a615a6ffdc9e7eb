"""Every bad input named in the issue: one clear line naming file, row and column, and the exit code.

Exit 2 when the input cannot be used at all; exit 0 when the run succeeds with the bad rows excluded
(each with a reason, counted in the manifest). Never a traceback.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from cli_helpers import RUN_ID, assert_input_error, assert_success, invoke, warnings_naming

GOOD = [
    "The app crashes when I open settings",
    "Search results are out of date",
    "Please add a dark mode",
    "Login fails with the right password",
]


def _feedback(tmp_path) -> pd.DataFrame:
    return pd.read_parquet(tmp_path / "out" / RUN_ID / "feedback.parquet")


# --- the input cannot be used: exit 2 --------------------------------------------------------


def test_missing_file(tmp_path):
    path = tmp_path / "nope.csv"
    assert_input_error(invoke(tmp_path, path), str(path), "not found")


def test_unknown_format(tmp_path):
    path = tmp_path / "export.docx"
    path.write_text("whatever")
    assert_input_error(invoke(tmp_path, path), str(path), "unknown format", "'.docx'", ".csv")


def test_a_folder_is_not_a_file(tmp_path):
    assert_input_error(invoke(tmp_path, tmp_path), str(tmp_path), "not a file")


@pytest.mark.parametrize("name", ["empty.csv", "empty.jsonl", "empty.parquet", "empty.xlsx"])
def test_empty_file(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"")
    assert_input_error(invoke(tmp_path, path), str(path), "empty")


def test_file_of_blank_lines(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text("\n \n\n")
    assert_input_error(invoke(tmp_path, path), str(path), "no header")


def test_header_only_lists_the_columns(write_csv, tmp_path):
    path = write_csv([["id", "text", "locale"]])
    assert_input_error(invoke(tmp_path, path), str(path), "no data rows", "'id', 'text', 'locale'")


def test_header_only_xlsx(tmp_path):
    path = tmp_path / "header.xlsx"
    pd.DataFrame(columns=["id", "comment"]).to_excel(path, index=False)
    assert_input_error(invoke(tmp_path, path), str(path), "no data rows")


def test_text_column_missing_lists_the_columns_found(write_csv, tmp_path):
    path = write_csv([["ticket", "rating", "locale"], ["1", "5", "en"]])
    assert_input_error(invoke(tmp_path, path), str(path), "'ticket', 'rating', 'locale'", "--text-col")


def test_named_text_column_missing_lists_the_columns_found(write_csv, tmp_path):
    path = write_csv([["id", "text"], ["1", GOOD[0]]])
    assert_input_error(invoke(tmp_path, path, "--text-col", "body"), str(path), "'body'", "'id', 'text'")


def test_two_candidate_text_columns_asks_which(write_csv, tmp_path):
    path = write_csv([["id", "review", "comment"], *[[i, t, t.upper()] for i, t in enumerate(GOOD)]])
    assert_input_error(invoke(tmp_path, path), str(path), "'review', 'comment'", "--text-col")


def test_two_candidate_text_columns_run_once_one_is_named(write_csv, tmp_path):
    path = write_csv([["id", "review", "comment"], *[[i, t, t.upper()] for i, t in enumerate(GOOD)]])
    assert_success(invoke(tmp_path, path, "--text-col", "review"), tmp_path)
    assert _feedback(tmp_path)["text"].tolist() == GOOD


def test_a_column_of_numbers_as_text_names_the_column(write_csv, tmp_path):
    path = write_csv([["id", "text", "title"], *[[i, i * 7, f"title {i}"] for i in range(12)]])
    assert_input_error(invoke(tmp_path, path), str(path), "column 'text'", "--text-col")


def test_malformed_json_array(tmp_path):
    path = tmp_path / "export.json"
    path.write_text('[\n{"text": "fine"},\n{"text": "broken\n]')
    assert_input_error(invoke(tmp_path, path), str(path), "malformed JSON", "row ")


def test_every_json_line_malformed(tmp_path):
    path = tmp_path / "export.jsonl"
    path.write_text("{oops\nnot json\n")
    assert_input_error(invoke(tmp_path, path), str(path), "row 1")


@pytest.mark.parametrize(("name", "content"), [("x.parquet", b"PAR1 nope"), ("x.xlsx", b"PK not really")])
def test_corrupt_binary_formats(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    assert_input_error(invoke(tmp_path, path), str(path))


def test_unknown_metadata_column(write_csv, tmp_path):
    path = write_csv([["id", "text"], ["1", GOOD[0]]])
    assert_input_error(invoke(tmp_path, path, "--meta-cols", "locale,platform"), str(path), "'locale'")


def test_one_bad_file_among_several_stops_the_run(write_csv, tmp_path):
    good = write_csv([["text"], *[[t] for t in GOOD]], name="good.csv")
    missing = tmp_path / "missing.csv"
    assert_input_error(invoke(tmp_path, good, missing), str(missing))
    assert not (tmp_path / "out" / RUN_ID).exists()


# --- bad rows: excluded with a reason, the run succeeds --------------------------------------


def test_empty_whitespace_and_non_text_rows_are_excluded(write_jsonl, tmp_path):
    items = [{"id": f"g{i}", "text": t} for i, t in enumerate(GOOD)] + [
        {"id": "e1", "text": ""},
        {"id": "e2", "text": None},
        {"id": "e3"},
        {"id": "w1", "text": "  \t  "},
        {"id": "n1", "text": 12345},
        {"id": "n2", "text": "3.14"},
        {"id": "n3", "text": {"nested": "object"}},
        {"id": "p1", "text": "!!! ???"},
    ]
    path = write_jsonl(items)
    result = invoke(tmp_path, path)
    manifest = assert_success(result, tmp_path)
    assert manifest["accounting"]["excluded_by_reason"] == {
        "empty": 3,
        "not_text": 3,
        "whitespace_only": 1,
        "no_letters": 1,
    }
    feedback = _feedback(tmp_path).set_index("row_id")
    assert feedback.loc["n1", "status"] == "excluded"
    assert feedback.loc["n1", "exclusion_reason"] == "not_text"
    assert warnings_naming(result, str(path), "row 9", "column 'text'", "12345")
    assert "excluded by reason" in result.stdout


def test_missing_ids_get_generated_ids_and_a_warning(write_csv, tmp_path):
    path = write_csv([["id", "text"], ["a", GOOD[0]], ["", GOOD[1]], ["c", GOOD[2]]], name="ids.csv")
    result = invoke(tmp_path, path)
    manifest = assert_success(result, tmp_path)
    assert manifest["accounting"]["excluded"] == 0
    assert _feedback(tmp_path)["row_id"].tolist() == ["a", "ids.csv:3", "c"]
    assert warnings_naming(result, str(path), "row 3", "column 'id'", "missing id")


def test_nan_ids_in_parquet(tmp_path):
    path = tmp_path / "ids.parquet"
    pd.DataFrame({"id": [1.0, np.nan, 3.0, np.nan], "text": GOOD}).to_parquet(path)
    result = invoke(tmp_path, path)
    assert_success(result, tmp_path)
    assert _feedback(tmp_path)["row_id"].tolist() == ["1", "ids.parquet:2", "3", "ids.parquet:4"]
    assert warnings_naming(result, str(path), "row 2", "column 'id'")


def test_duplicate_ids_exclude_the_later_rows(write_csv, tmp_path):
    path = write_csv([["id", "text"], ["a", GOOD[0]], ["b", GOOD[1]], ["a", GOOD[2]], ["c", GOOD[3]]])
    result = invoke(tmp_path, path)
    manifest = assert_success(result, tmp_path)
    assert manifest["accounting"]["excluded_by_reason"] == {"duplicate_id": 1}
    feedback = _feedback(tmp_path)
    assert feedback["row_id"].is_unique
    assert feedback["exclusion_reason"].tolist()[2] == "duplicate_id"
    assert warnings_naming(result, str(path), "row 4", "'a'", "duplicate_id")


def test_malformed_json_lines_are_excluded(write_jsonl, tmp_path):
    items = [{"text": GOOD[0]}, '{"text": "unterminated', {"text": GOOD[1]}, "[1, 2, 3]", {"text": GOOD[2]}]
    path = write_jsonl(items)
    result = invoke(tmp_path, path)
    manifest = assert_success(result, tmp_path)
    assert manifest["accounting"]["excluded_by_reason"] == {"unparseable": 2}
    feedback = _feedback(tmp_path)
    assert feedback["source_row"].tolist() == [1, 2, 3, 4, 5]
    assert feedback["status"].tolist()[1] == "excluded"
    assert warnings_naming(result, str(path), "row 2", "malformed JSON")
    assert warnings_naming(result, str(path), "row 4", "JSON object")


def test_ragged_csv_rows_are_excluded(write_csv, tmp_path):
    path = write_csv([["id", "text"], ["1", GOOD[0]], ["2", "a", "b", "c"], ["3", GOOD[1]], ["4"]])
    result = invoke(tmp_path, path)
    manifest = assert_success(result, tmp_path)
    assert manifest["accounting"]["excluded_by_reason"] == {"unparseable": 2}
    assert warnings_naming(result, str(path), "row 3", "expected 2 fields, found 4")
    assert warnings_naming(result, str(path), "row 5", "found 1")


def test_undecodable_bytes_fall_back_to_latin1_with_a_warning(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(
        ("id,text\n" + "".join(f"{i},{t}\n" for i, t in enumerate(GOOD)) + "9,Crème brûlée\n").encode("cp1252")
    )
    result = invoke(tmp_path, path)
    assert_success(result, tmp_path)
    assert _feedback(tmp_path)["text"].tolist()[-1] == "Crème brûlée"
    assert warnings_naming(result, str(path), "row 6", "UTF-8", "Latin-1")


def test_a_1mb_single_text_is_truncated_and_the_run_succeeds(write_csv, tmp_path):
    huge = "The sync is slow and " * 50_000  # ~1 MB
    path = write_csv([["id", "text"], ["big", huge], *[[i, t] for i, t in enumerate(GOOD)]])
    assert len(huge) >= 1_000_000
    result = invoke(tmp_path, path)
    manifest = assert_success(result, tmp_path)
    assert manifest["accounting"]["truncated"] == 1
    row = _feedback(tmp_path).set_index("row_id").loc["big"]
    assert bool(row["truncated"]) and row["status"] != "excluded"
    assert len(row["clean_text"]) <= manifest["config"]["clean"]["max_chars"]
    assert row["text"] == huge  # the original is kept
    assert warnings_naming(result, str(path), "row 2", "column 'text'", "truncated")


def test_a_1mb_single_text_as_the_only_row(tmp_path):
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps({"text": "x" + "The search is broken. " * 48_000}) + "\n")
    manifest = assert_success(invoke(tmp_path, path), tmp_path)
    assert manifest["accounting"]["rows_in"] == 1


def test_timestamps_in_mixed_formats_or_unparseable(write_csv, tmp_path):
    stamps = ["2024-03-01", "2024-03-01T12:00:00Z", "03/02/2024 10:00", "not a date", "1700000000000000"]
    path = write_csv([["id", "text", "created_at"], *[[i, GOOD[i % 4] + f" {i}", s] for i, s in enumerate(stamps)]])
    result = invoke(tmp_path, path)
    manifest = assert_success(result, tmp_path)
    assert manifest["accounting"]["excluded_by_reason"] == {"bad_time": 2}  # excluded, counted, never lost
    feedback = _feedback(tmp_path)
    assert feedback["time"].notna().tolist() == [True, True, True, False, False]
    assert feedback["exclusion_reason"].tolist()[3:] == ["bad_time", "bad_time"]
    assert warnings_naming(result, str(path), "row 5", "column 'created_at'", "not a date")
    assert warnings_naming(result, str(path), "row 6", "column 'created_at'")
    themes = pd.read_parquet(tmp_path / "out" / RUN_ID / "themes.parquet")
    assert themes["first_seen"].min() == pd.Timestamp("2024-03-01", tz="UTC")


def test_too_few_rows_to_cluster_still_writes_the_tables_and_says_why(write_csv, tmp_path):
    path = write_csv([["text"], *[[t] for t in GOOD]])
    result = invoke(tmp_path, path)
    manifest = assert_success(result, tmp_path)
    run_dir = tmp_path / "out" / RUN_ID
    for name in ("feedback.parquet", "themes.parquet", "themes.csv", "insights.md", "report.html"):
        assert (run_dir / name).is_file(), name
    assert manifest["accounting"]["themed"] + manifest["accounting"]["outliers"] == len(GOOD)
    assert any("too few" in note for note in manifest["notes"])
    assert "note:" in result.stdout
    assert "Note:" in (run_dir / "insights.md").read_text(encoding="utf-8")


def test_no_usable_row_at_all_still_writes_empty_tables(write_csv, tmp_path):
    path = write_csv([["id", "text"], ["1", ""], ["2", "!!!"], ["3", "42"]])
    manifest = assert_success(invoke(tmp_path, path), tmp_path)
    assert manifest["accounting"]["excluded"] == 3
    assert manifest["notes"]
    themes = pd.read_csv(tmp_path / "out" / RUN_ID / "themes.csv")
    assert themes.empty and "label" in themes.columns


def test_an_unclosed_quote_in_a_csv_is_named(tmp_path):
    path = tmp_path / "quote.csv"
    path.write_text("id,text\n" + "".join(f"{i},{t}\n" for i, t in enumerate(GOOD)) + '9,"oops\n10,lost row\n')
    result = invoke(tmp_path, path)
    manifest = assert_success(result, tmp_path)
    assert manifest["accounting"]["excluded_by_reason"] == {"unparseable": 1}
    assert warnings_naming(result, str(path), "row 6", "never closes")


# --- ragged records (issue 19): every row accounted for, never an internal error ---------------


def _unquoted_commas(n: int, start: int = 0) -> str:
    """CSV lines whose text holds unquoted commas: each has more fields than the ``id,text`` header."""
    return "".join(f"{i},The app crashes, then freezes, then logs me out {i}\n" for i in range(start, start + n))


def test_every_csv_row_ragged_is_one_input_error_with_the_likely_cause(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("id,text\n" + _unquoted_commas(120))
    line = assert_input_error(invoke(tmp_path, path), str(path), "no parseable records", "120 in all", "row 2")
    assert "unquoted delimiter" in line and "expected 2 fields, found 4" in line


def test_every_csv_row_ragged_but_one_runs_with_the_rest_excluded(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("id,text\n" + _unquoted_commas(60) + f"good,{GOOD[0]}\n" + _unquoted_commas(59, start=60))
    result = invoke(tmp_path, path)
    manifest = assert_success(result, tmp_path)
    assert manifest["accounting"]["rows_in"] == 120
    assert manifest["accounting"]["excluded_by_reason"] == {"unparseable": 119}
    feedback = _feedback(tmp_path)
    assert feedback.set_index("row_id").loc["good", "status"] != "excluded"
    assert warnings_naming(result, str(path), "119 of 120 records unparseable", "unquoted delimiter")


def test_ragged_tsv_rows_are_excluded_and_an_all_ragged_tsv_names_the_tab(write_csv, tmp_path):
    rows = [["id", "text"], ["1", GOOD[0]], ["2", "tabs\tinside\tthe text"], ["3", GOOD[1]]]
    path = write_csv(rows, name="export.tsv", delimiter="\t")
    path.write_text(path.read_text().replace('"', ""))  # the tabs unquoted, as a careless export writes them
    result = invoke(tmp_path, path)
    manifest = assert_success(result, tmp_path)
    assert manifest["accounting"]["excluded_by_reason"] == {"unparseable": 1}
    assert warnings_naming(result, str(path), "row 3", "expected 2 fields, found 4")

    ragged = tmp_path / "ragged.tsv"
    ragged.write_text("id\ttext\n" + "".join(f"{i}\tslow\tand\tbroken\n" for i in range(5)))
    assert_input_error(invoke(tmp_path, ragged), str(ragged), "no parseable records", "unquoted tab")


def test_jsonl_records_with_differing_keys_are_each_accounted(write_jsonl, tmp_path):
    items = [
        {"id": "a", "text": GOOD[0], "locale": "en"},
        {"id": "b", "text": GOOD[1]},
        {"id": "c"},  # no text key at all
        {"id": "d", "text": GOOD[2], "locale": "de", "extra": [1, 2]},
        "[1, 2, 3]",
    ]
    path = write_jsonl(items)
    result = invoke(tmp_path, path)
    manifest = assert_success(result, tmp_path)
    assert manifest["accounting"]["rows_in"] == 5
    assert manifest["accounting"]["excluded_by_reason"] == {"empty": 1, "unparseable": 1}
    feedback = _feedback(tmp_path)
    assert feedback["locale"].iloc[0] == "en" and pd.isna(feedback["locale"].iloc[1])


def test_a_file_whose_only_text_column_is_empty_after_exclusion(tmp_path):
    path = tmp_path / "empty_after.csv"
    texts = ["https://example.com/a", "a@b.org", "   ", "42", "!!! ???"]
    path.write_text("id,text\n" + "".join(f"{i},{t}\n" for i, t in enumerate(texts)) + _unquoted_commas(3, 9))
    manifest = assert_success(invoke(tmp_path, path), tmp_path)
    acc = manifest["accounting"]
    assert acc["rows_in"] == acc["excluded"] == 8
    assert acc["excluded_by_reason"]["unparseable"] == 3
    themes = pd.read_csv(tmp_path / "out" / RUN_ID / "themes.csv")
    assert themes.empty
