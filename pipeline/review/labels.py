"""Reviewers' answers: validated, then appended to ``review/labels.jsonl`` under a lock, one line each.

Why a JSONL log and not a table rewritten on each save: appending one line is the smallest write
there is, so two reviewers saving at the same moment cannot overwrite each other (both append,
one after the other, under an exclusive ``flock`` and a process-local lock), and a crash mid-save
can at worst leave a torn last line, which readers skip and the next save fences off with a
newline. Every earlier answer stays as it was. Each record is flushed and ``fsync``-ed before the
save is acknowledged. A reviewer's latest answer on an item is the one that counts.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.errors import InputError
from pipeline.review.sampling import ReviewSet, review_dir

__all__ = [
    "ANSWERS",
    "NEEDS_MET",
    "THEME_ANSWERS",
    "LabelStore",
    "ReviewInputError",
    "validate_answer",
]

log = logging.getLogger(__name__)

#: Does the row belong to its theme?
THEME_ANSWERS = ("yes", "no", "unsure")
#: Needs-Met-style rating of the result for the query, worst first.
NEEDS_MET = ("fails", "slightly", "moderately", "highly", "fully")
SEVERITY_ANSWERS = ("critical", "high", "medium", "low", "none")
#: The node answer for "no node fits".
UNMAPPED = "unmapped"
#: Fields of one answer; anything else in a request is refused.
ANSWERS = ("item_id", "reviewer", "theme", "node", "severity", "needs_met")
_REVIEWER = re.compile(r"[\w][\w .@'-]{0,39}")
_LOCK = threading.Lock()


class ReviewInputError(InputError):
    """An answer the server refuses; ``status`` is the HTTP code to answer with."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Answer:
    """One validated answer of one reviewer on one item (None: not answered)."""

    item_id: str
    reviewer: str
    theme: str | None
    node: str | None
    severity: str | None
    needs_met: str | None

    def record(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "reviewer": self.reviewer,
            "theme": self.theme,
            "node": self.node,
            "severity": self.severity,
            "needs_met": self.needs_met,
            "ts": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        }


def validate_answer(payload: Any, review_set: ReviewSet, leaves: set[str]) -> Answer:
    """Check a request body against the review set and the taxonomy; ReviewInputError names the field."""
    if not isinstance(payload, dict):
        raise ReviewInputError(f"an answer must be a JSON object; got {type(payload).__name__}.", 400)
    unknown = sorted(set(payload) - set(ANSWERS))
    if unknown:
        raise ReviewInputError(f"unknown fields {unknown}; an answer has {list(ANSWERS)}.")
    item_id = payload.get("item_id")
    if not isinstance(item_id, str):
        raise ReviewInputError(f"'item_id' must be a string; got {item_id!r:.60}.")
    try:
        item = review_set.item(item_id)
    except KeyError:
        raise ReviewInputError(f"no item {item_id[:40]!r} in this review set.", 404) from None
    reviewer = payload.get("reviewer")
    if not isinstance(reviewer, str) or not _REVIEWER.fullmatch(reviewer.strip()):
        raise ReviewInputError(
            f"'reviewer' must be a name of 1-40 letters, digits, spaces or . @ ' - ; got {str(reviewer)[:60]!r}."
        )

    def choice(name: str, allowed: tuple[str, ...] | set[str]) -> str | None:
        value = payload.get(name)
        if value is None:
            return None
        if not isinstance(value, str) or value not in allowed:
            shown = sorted(allowed) if len(allowed) < 12 else f"one of {len(allowed)} taxonomy leaves or 'unmapped'"
            raise ReviewInputError(f"{name!r} must be one of {shown}; got {str(value)[:60]!r}.")
        return value

    needs_met = choice("needs_met", NEEDS_MET)
    if needs_met is not None and pd.isna(item["query"]):
        raise ReviewInputError(f"item {item_id} has no query, so it takes no 'needs_met' rating.")
    theme = choice("theme", THEME_ANSWERS)
    if theme is not None and int(item["theme_id"]) < 0:
        raise ReviewInputError(f"item {item_id} is an outlier (no theme); it takes no 'theme' answer.")
    answer = Answer(
        item_id=item_id,
        reviewer=reviewer.strip(),
        theme=theme,
        # the item's own node stays a valid answer ("right") even if the taxonomy has changed since the run
        node=choice(
            "node", {*leaves, UNMAPPED, *([str(item["category_id"])] if pd.notna(item["category_id"]) else [])}
        ),
        severity=choice("severity", SEVERITY_ANSWERS),
        needs_met=needs_met,
    )
    if answer.theme is answer.node is answer.severity is answer.needs_met is None:
        raise ReviewInputError("an answer needs at least one of 'theme', 'node', 'severity', 'needs_met'.")
    return answer


class LabelStore:
    """The append-only answer log of one run's review set."""

    def __init__(self, run_dir: str | Path) -> None:
        self.path = review_dir(run_dir) / "labels.jsonl"
        self.lock_path = review_dir(run_dir) / "labels.lock"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _LOCK, open(self.lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def save(self, answer: Answer) -> dict[str, Any]:
        """Append one answer durably; returns the stored record."""
        record = answer.record()
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
        with self._locked():
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                size = os.fstat(fd).st_size
                if size:
                    with open(self.path, "rb") as check:
                        check.seek(size - 1)
                        if check.read(1) != b"\n":  # a torn line from a crash: fence it off
                            line = "\n" + line
                os.write(fd, line.encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
        return record

    def records(self) -> list[dict[str, Any]]:
        """Every stored answer, oldest first; a torn or unreadable line is skipped with a warning."""
        if not self.path.is_file():
            return []
        out: list[dict[str, Any]] = []
        for number, raw in enumerate(self.path.read_bytes().split(b"\n"), start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except ValueError:
                log.warning("%s line %d: not a complete answer (an interrupted save?); skipped.", self.path, number)
                continue
            if isinstance(record, dict) and "item_id" in record and "reviewer" in record:
                out.append(record)
        return out

    def latest(self) -> pd.DataFrame:
        """Each reviewer's latest answer per item (one row per reviewer and item)."""
        records = self.records()
        columns = ["item_id", "reviewer", "theme", "node", "severity", "needs_met", "ts"]
        if not records:
            return pd.DataFrame(columns=columns)
        frame = pd.DataFrame(records).reindex(columns=columns)
        return frame.drop_duplicates(["item_id", "reviewer"], keep="last").reset_index(drop=True)
