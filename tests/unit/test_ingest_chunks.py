"""Chunked CSV reading (``ingest.chunk_records``): a file read a few records at a time gives the same rows,
warnings and errors as the file read whole; only the memory it takes differs.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipeline.config import IngestConfig
from pipeline.errors import InputError
from pipeline.ingest import Ingested, ingest
from pipeline.ingest._records import Warnings
from pipeline.ingest.readers import read_chunks

WHOLE = 1_000_000


def read(path: Path, chunk: int, **config: object) -> Ingested:
    return ingest([path], IngestConfig(chunk_records=chunk, **config))


def assert_same(path: Path, chunks: tuple[int, ...] = (1, 2, 3, 7), **config: object) -> Ingested:
    whole = read(path, WHOLE, **config)
    records = len(whole.rows)
    for chunk in chunks:
        read_in = list(read_chunks(path, IngestConfig(chunk_records=chunk), Warnings()))
        assert len(read_in) == -(-records // chunk)  # the file really is read in pieces
        part = read(path, chunk, **config)
        pd.testing.assert_frame_equal(part.rows, whole.rows)
        assert part.warnings == whole.warnings
        assert part.files == whole.files
        assert part.meta_columns == whole.meta_columns
    return whole


def test_a_file_with_every_kind_of_record_reads_the_same_in_any_chunking(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(
        "id,text,time,channel\n"
        "1,The app crashes on start,2026-11-01,app\n"
        "2,,2026-11-01,web\n"  # empty text
        "3,42,2026-11-02,app\n"  # a number, not text
        "4,Search is slow,not a date,web\n"  # bad time
        "5,too,many,fields,here\n"  # unparseable
        "1,Same id again,2026-11-03,app\n"  # duplicate id
        ",No id at all,2026-11-03,web\n"  # missing id
        '6,"A review\nover two lines",2026-11-04,app\n'
        "\n"
        "7,Scam ads in results,2026-11-05,web\n",
        encoding="utf-8",
    )
    whole = assert_same(path)
    assert whole.rows["source_row"].tolist() == [2, 3, 4, 5, 6, 7, 8, 9, 12]
    assert whole.rows["exclusion_reason"].tolist() == [
        None, "empty", "not_text", "bad_time", "unparseable", "duplicate_id", None, None, None,
    ]  # fmt: skip


def test_an_unclosed_quote_in_the_last_chunk_is_still_reported(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text('id,text\n1,fine\n2,also fine\n3,"opens and never\ncloses\n4,swallowed\n', encoding="utf-8")
    whole = assert_same(path)
    assert whole.rows["exclusion_reason"].tolist() == [None, None, "unparseable"]


def test_the_mostly_ragged_warning_counts_the_whole_file(tmp_path):
    path = tmp_path / "export.csv"
    lines = ["id,text", "1,fine"] + [f"{i},a, b, c" for i in range(2, 12)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    whole = assert_same(path)
    ragged = [w for w in whole.warnings if "records unparseable" in w]
    assert len(ragged) == 1 and "10 of 11 records unparseable" in ragged[0]
    assert whole.warnings.index(ragged[0]) < min(i for i, w in enumerate(whole.warnings) if "(unparseable)" in w)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("id,text\n" + "".join(f"{i},a,b\n" for i in range(9)), r"no parseable records \(9 in all\)"),
        ("id,text\n" + "".join(f"{i},{i * 7}\n" for i in range(9)), "holds numbers or other non-text values"),
    ],
)
def test_a_file_refused_whole_is_refused_in_chunks_without_warnings_first(tmp_path, caplog, content, expected):
    path = tmp_path / "export.csv"
    path.write_text(content, encoding="utf-8")
    messages = []
    for chunk in (WHOLE, 2):
        caplog.clear()
        with pytest.raises(InputError, match=expected) as raised:
            read(path, chunk, text_col="text")
        messages.append(str(raised.value))
        assert not [r for r in caplog.records if r.levelname == "WARNING"]
    assert messages[0] == messages[1]


def test_two_files_chunked_keep_their_order_and_ids_apart(tmp_path):
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text("text\n" + "".join(f"first {i}\n" for i in range(5)), encoding="utf-8")
    second.write_text("text\n" + "".join(f"second {i}\n" for i in range(4)), encoding="utf-8")
    whole = ingest([first, second], IngestConfig(chunk_records=WHOLE))
    part = ingest([first, second], IngestConfig(chunk_records=2))
    pd.testing.assert_frame_equal(part.rows, whole.rows)
    assert [f["rows"] for f in part.files] == [5, 4]
