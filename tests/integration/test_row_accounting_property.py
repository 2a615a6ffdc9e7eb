"""Property: whatever a messy export holds, every input row is accounted for exactly once.

Exports are generated as CSV or JSONL mixtures of good texts, empty and whitespace-only cells,
numbers, exact and near-duplicates, over-long texts, PII-only texts, missing and duplicate ids,
malformed JSON lines and ragged CSV rows, and run through ``pipeline.run`` with the model-free
stand-ins.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.embedding import HashingEmbedder
from pipeline import run
from pipeline.clean import canonical_key
from pipeline.config import RunConfig
from pipeline.reduce import PcaReducer
from pipeline.schemas import EXCLUSION_REASONS, STATUSES

MAX_CHARS = 100
WORDS = [
    *("login", "search", "crash", "slow", "password", "refund", "order", "map", "results", "update", "sync"),
    *("battery", "screen", "notification", "ad", "account", "payment", "delivery", "filter", "dark", "mode"),
    *("broken", "great", "terrible"),
]
DECOR = ["", "!", "?", ",", ";", " |", "'", '"', " é", " — ok", ":)"]

#: kind → the exclusion reason it must get (None: it must be kept).
EXPECTED_REASON: dict[str, str | None] = {
    "good": None,
    "exact_dup": None,
    "near_dup": None,
    "long": None,
    "multiline": None,
    "empty": "empty",
    "whitespace": "whitespace_only",
    "number": "not_text",
    "punctuation": "no_letters",
    "pii_only": "no_letters",
    "malformed": "unparseable",
}
TEXTUAL = {"good", "exact_dup", "near_dup", "long", "multiline"}


@dataclass
class Record:
    kind: str
    text: Any
    id: str | None


@st.composite
def sentences(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.sampled_from(WORDS), min_size=2, max_size=8))
    decor = draw(st.lists(st.sampled_from(DECOR), min_size=len(words), max_size=len(words)))
    return " ".join(w + d for w, d in zip(words, decor, strict=True)).strip()


@st.composite
def messy_exports(draw: st.DrawFn) -> tuple[str, list[Record]]:
    fmt = draw(st.sampled_from(["csv", "jsonl"]))
    kinds = draw(st.lists(st.sampled_from(sorted(EXPECTED_REASON)), min_size=1, max_size=45))
    if "good" not in kinds:  # at least one usable text
        kinds.insert(draw(st.integers(0, len(kinds))), "good")
    # Mostly numbers is a different case (the column is refused; see the CLI tests).
    surplus = kinds.count("number") - sum(k in TEXTUAL for k in kinds)
    for _ in range(max(0, surplus)):
        kinds[kinds.index("number")] = "good"
    records: list[Record] = []
    for n, kind in enumerate(kinds):
        earlier = [r.text for r in records if r.kind == "good"]
        if kind in {"exact_dup", "near_dup"} and not earlier:
            kind = "good"
        if kind == "good":
            text: Any = draw(sentences())
        elif kind == "exact_dup":
            text = draw(st.sampled_from(earlier))
        elif kind == "near_dup":
            text = draw(st.sampled_from(earlier)).upper() + draw(st.sampled_from(["!!", " ...", "  "]))
        elif kind == "long":
            text = " ".join(draw(st.lists(st.sampled_from(WORDS), min_size=40, max_size=60)))
        elif kind == "multiline":
            text = draw(sentences()) + "\n" + draw(sentences())
        elif kind == "empty":
            text = draw(st.sampled_from(["", None])) if fmt == "jsonl" else ""
        elif kind == "whitespace":
            text = draw(st.sampled_from([" ", "   ", "\t", " \t "]))
        elif kind == "number":
            text = draw(st.sampled_from(["12", "3.5", "-7", "1,5", "2e3"]))
            if fmt == "jsonl" and draw(st.booleans()):
                text = draw(st.sampled_from([12, 3.5, True, [1], {"a": 1}]))
        elif kind == "punctuation":
            text = draw(st.sampled_from(["!!!", "?!", "...", "- -", "12 34"]))
        elif kind == "pii_only":
            text = draw(st.sampled_from(["https://example.com/x", "jane@example.com", "@someone", "+1 415 555 0100"]))
        else:  # malformed
            text = None
        id_kind = draw(st.sampled_from(["unique", "unique", "unique", "missing", "duplicate"]))
        known = [r.id for r in records if r.id is not None]
        if id_kind == "duplicate" and known:
            row_id: str | None = draw(st.sampled_from(known))
        elif id_kind == "missing":
            row_id = None
        else:
            row_id = f"id{n}"
        records.append(Record(kind, text, row_id))
    return fmt, records


def _write(fmt: str, records: list[Record], folder: Path) -> tuple[Path, list[int]]:
    """Write the export; returns its path and the line each record starts on."""
    lines: list[int] = []
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["id", "text", "rating"])
        line = 2
        for r in records:
            start = buffer.tell()
            cells = [r.id or "", r.text or "", "5"]
            writer.writerow([*cells, "extra", "cells"] if r.kind == "malformed" else cells)  # ragged row
            lines.append(line)
            line += buffer.getvalue()[start:].count("\n")
        path = folder / "export.csv"
        path.write_text(buffer.getvalue(), encoding="utf-8")
    else:
        out = []
        for n, r in enumerate(records, start=1):
            if r.kind == "malformed":
                out.append('{"id": "broken", "text": "no end')
            else:
                item: dict[str, Any] = {"text": r.text} if not (r.kind == "empty" and r.text is None and n % 2) else {}
                if r.id is not None:
                    item["id"] = r.id
                out.append(json.dumps(item))
            lines.append(n)
        path = folder / "export.jsonl"
        path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path, lines


#: Reasons found at ingest come before a duplicate id; the clean stage's come after it.
INGEST_REASONS = {"empty", "whitespace_only", "not_text", "unparseable"}


def _expected(records: list[Record]) -> tuple[list[str | None], list[bool]]:
    """The exclusion reason of each record, and whether its id was used by an earlier record."""
    reasons: list[str | None] = []
    repeated: list[bool] = []
    seen_ids: set[str] = set()
    for r in records:
        reason = EXPECTED_REASON[r.kind]
        is_repeat = r.kind != "malformed" and r.id is not None and r.id in seen_ids
        if is_repeat and reason not in INGEST_REASONS:
            reason = "duplicate_id"
        if r.kind != "malformed" and r.id is not None:
            seen_ids.add(r.id)
        reasons.append(reason)
        repeated.append(is_repeat)
    return reasons, repeated


CONFIG = RunConfig().with_overrides(
    {
        "clean.spacy_model": "blank:en",
        "clean.max_chars": MAX_CHARS,
        "embed.model": "hashing",
        "embed.use_cache": False,
        "reduce.method": "pca",
        "cluster.min_rows": 8,
    }
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(export=messy_exports())
def test_every_row_is_accounted_for_exactly_once(export, blank_nlp):
    fmt, records = export
    with tempfile.TemporaryDirectory() as folder:
        path, lines = _write(fmt, records, Path(folder))
        result = run(path, CONFIG, embedder=HashingEmbedder(), reducer=PcaReducer(), nlp=blank_nlp, write=False)

    fb = result.feedback
    acc = result.accounting
    # rows in = themed + outliers + excluded, and the manifest says so
    assert acc["rows_in"] == len(records) == len(fb)
    assert acc["rows_in"] == acc["themed"] + acc["outliers"] + acc["excluded"]
    assert sum(acc["excluded_by_reason"].values()) == acc["excluded"]
    # every input row exactly once, in input order
    assert fb["source_row"].tolist() == lines
    assert fb["source_file"].eq(str(path)).all()
    assert fb["row_id"].is_unique
    # statuses and reasons
    assert set(fb["status"]) <= set(STATUSES)
    excluded = fb["status"].eq("excluded")
    assert excluded.tolist() == fb["exclusion_reason"].notna().tolist()
    assert set(fb.loc[excluded, "exclusion_reason"]) <= set(EXCLUSION_REASONS)
    reasons, repeated = _expected(records)
    assert [r if isinstance(r, str) else None for r in fb["exclusion_reason"]] == reasons
    # kept rows: ids carried, themes valid, long texts truncated, duplicates point back
    ids = fb["row_id"].tolist()
    for i, r in enumerate(records):
        row = fb.iloc[i]
        if r.kind != "malformed" and r.id is not None:
            assert (row["row_id"] == r.id) != repeated[i]  # a repeated id gets a suffix
        if row["status"] == "excluded":
            assert row["theme_id"] == -1
            continue
        assert (row["theme_id"] >= 0) == (row["status"] == "themed")
        assert bool(row["truncated"]) == (len(r.text) > MAX_CHARS)
        if row["duplicate_of"] is not None:
            first = ids.index(row["duplicate_of"])
            assert first < i
            assert canonical_key(fb.iloc[first]["clean_text"]) == canonical_key(row["clean_text"])
    # theme sizes add up to the themed rows
    assert int(result.themes["size"].sum()) == acc["themed"]
