"""Ingest column mapping (pipeline/ingest/columns.py): text, id, time and metadata columns found or named,
and the rows they make.
"""

from __future__ import annotations

import pandas as pd
import pytest
from ingest_helpers import REVIEWS, rows_of

from pipeline.errors import InputError
from pipeline.ingest import ingest, ingest_frame
from pipeline.schemas import INGESTED


def test_output_has_the_ingested_schema_plus_metadata(write_csv):
    path = write_csv([["id", "text", "platform"], ["1", REVIEWS[0], "ios"]])
    result = ingest([path])
    assert list(result.rows.columns) == [*INGESTED, "platform"]
    assert result.meta_columns == ["platform"]
    assert result.files == [{"path": str(path), "rows": 1, "bytes": path.stat().st_size}]


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
    rows = rows_of(path)
    assert rows.loc[0, "row_id"] == "a1"
    assert rows.loc[0, "text"] == REVIEWS[0]
    assert rows.loc[0, "time"] == pd.Timestamp("2024-03-05", tz="UTC")
    assert rows.loc[0, "locale"] == "de"


def test_flags_map_columns_with_unusual_names(write_csv):
    path = write_csv(
        [["ref", "what_they_said", "when", "query", "junk"], ["Q1", REVIEWS[0], "2024-01-02", "maps", "x"]]
    )
    rows = rows_of(path, text_col="what_they_said", id_col="ref", time_col="when", meta_cols=["query"])
    assert list(rows.columns) == [*INGESTED, "query"]
    assert rows.loc[0, "row_id"] == "Q1"
    assert rows.loc[0, "text"] == REVIEWS[0]
    assert rows.loc[0, "time"] == pd.Timestamp("2024-01-02", tz="UTC")


def test_flag_matches_column_case_insensitively(write_csv):
    path = write_csv([["Body", "x"], [REVIEWS[0], "1"]])
    assert rows_of(path, text_col="body")["text"].tolist() == [REVIEWS[0]]


def test_meta_column_named_like_a_pipeline_column_is_prefixed(write_csv):
    header = ["id", "text", "status", "truncated", "lemmas", "duplicate_of", "theme_id_reassigned"]
    path = write_csv([header, ["1", REVIEWS[0], "open", "no", "l", "d", "t"]])
    result = ingest([path])
    assert result.meta_columns == [f"meta_{c}" for c in header[2:]]
    assert result.rows.loc[0, "meta_truncated"] == "no"


def test_ids_are_generated_from_file_and_row_when_absent(write_csv):
    path = write_csv([["text"], *[[t] for t in REVIEWS]], name="ids.csv")
    assert rows_of(path)["row_id"].tolist() == ["ids.csv:2", "ids.csv:3", "ids.csv:4"]


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


def test_missing_text_column_lists_the_columns_found(write_csv):
    path = write_csv([["id", "rating", "locale"], ["1", "5", "en"]])
    with pytest.raises(InputError, match=r"no text column.*'id', 'rating', 'locale'.*--text-col"):
        ingest([path])


def test_unknown_text_col_flag_lists_the_columns_found(write_csv):
    path = write_csv([["id", "text"], ["1", REVIEWS[0]]])
    with pytest.raises(InputError, match=r"'body' not found.*'id', 'text'"):
        rows_of(path, text_col="body")


def test_unknown_meta_column(write_csv):
    path = write_csv([["id", "text"], ["1", REVIEWS[0]]])
    with pytest.raises(InputError, match=r"metadata column 'locale' not found"):
        rows_of(path, meta_cols=["locale"])


def test_two_candidate_text_columns_ask_which(write_csv):
    path = write_csv([["id", "review", "comment"], ["1", REVIEWS[0], REVIEWS[1]]])
    with pytest.raises(InputError, match=r"several columns.*'review', 'comment'.*--text-col"):
        ingest([path])
    assert rows_of(path, text_col="comment")["text"].tolist() == [REVIEWS[1]]


def test_a_column_of_numbers_is_refused_as_text(write_csv):
    path = write_csv([["id", "text", "note"], *[[i, i * 1.5, "x"] for i in range(10)]])
    with pytest.raises(InputError, match=r"column 'text'.*numbers.*--text-col"):
        ingest([path])
