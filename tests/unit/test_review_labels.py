"""The answer log: validation before anything is written, concurrent saves, and crashes mid-save."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from review_helpers import review_feedback

from pipeline.review.labels import LabelStore, ReviewInputError, validate_answer
from pipeline.review.sampling import ReviewSet, draw_review_set, write_review_set
from pipeline.taxonomy import load_taxonomy

LEAVES = {n.id for n in load_taxonomy(None).leaves}


@pytest.fixture
def review_set(tmp_path: Path) -> ReviewSet:
    feedback, themes = review_feedback()
    drawn = draw_review_set(feedback, themes, size=20, seed=0)
    write_review_set(drawn, tmp_path)
    return drawn


def answer(review_set: ReviewSet, reviewer: str = "ann", **fields: object):  # type: ignore[no-untyped-def]
    themed = review_set.items[review_set.items["theme_id"] >= 0].iloc[0]
    return validate_answer({"item_id": themed["item_id"], "reviewer": reviewer, **fields}, review_set, LEAVES)


def test_a_valid_answer_is_stored_and_read_back(review_set: ReviewSet, tmp_path: Path) -> None:
    store = LabelStore(tmp_path)
    store.save(answer(review_set, theme="yes", node="safety.scams", severity="high", needs_met="highly"))
    (record,) = store.records()
    assert (record["reviewer"], record["theme"], record["node"], record["needs_met"]) == (
        "ann", "yes", "safety.scams", "highly"
    )  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"item_id": "i9999"}, 404, "no item 'i9999'"),
        ({"theme": "maybe"}, 422, "'theme' must be one of"),
        ({"node": "safety.nonsense"}, 422, "'node' must be one of"),
        ({"severity": "extreme"}, 422, "'severity'"),
        ({"needs_met": "perfect"}, 422, "'needs_met'"),
        ({"reviewer": ""}, 422, "'reviewer' must be a name"),
        ({"reviewer": "<script>"}, 422, "'reviewer' must be a name"),
        ({"extra": 1}, 422, "unknown fields"),
        ({}, 422, "at least one of"),
    ],
)
def test_bad_answers_are_refused_with_a_clear_status_and_message(
    review_set: ReviewSet, fields: dict, status: int, message: str
) -> None:
    payload = {"item_id": review_set.items["item_id"].iloc[0], "reviewer": "ann", **fields}
    with pytest.raises(ReviewInputError, match=message) as caught:
        validate_answer(payload, review_set, LEAVES)
    assert caught.value.status == status


def test_an_outlier_takes_no_theme_answer(review_set: ReviewSet) -> None:
    outliers = review_set.items[review_set.items["theme_id"] < 0]
    assert len(outliers)
    payload = {"item_id": outliers["item_id"].iloc[0], "reviewer": "ann", "theme": "yes"}
    with pytest.raises(ReviewInputError, match="outlier"):
        validate_answer(payload, review_set, LEAVES)


def test_many_reviewers_saving_at_the_same_moment_lose_nothing(review_set: ReviewSet, tmp_path: Path) -> None:
    store = LabelStore(tmp_path)
    ids = list(review_set.items["item_id"])
    start = threading.Barrier(8)

    def rater(k: int) -> None:
        start.wait()
        for item_id in ids:
            store.save(
                validate_answer({"item_id": item_id, "reviewer": f"r{k}", "severity": "low"}, review_set, LEAVES)
            )

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(rater, range(8)))
    records = store.records()
    assert len(records) == 8 * len(ids)
    assert len(store.latest()) == 8 * len(ids)
    assert all(line.startswith("{") for line in store.path.read_text(encoding="utf-8").splitlines())


def test_a_crash_mid_save_leaves_earlier_answers_intact_and_later_saves_readable(
    review_set: ReviewSet, tmp_path: Path
) -> None:
    store = LabelStore(tmp_path)
    store.save(answer(review_set, theme="yes"))
    store.save(answer(review_set, "bob", theme="no"))
    before = store.records()
    # a save cut off half-way: part of a JSON line, no newline
    torn = json.dumps({"item_id": "i0001", "reviewer": "cid", "theme": "yes"})[:25]
    with store.path.open("ab") as handle:
        handle.write(torn.encode())
    assert store.records() == before
    store.save(answer(review_set, severity="low"))
    after = store.records()
    assert after[:2] == before and after[2]["severity"] == "low"


def test_a_save_that_fails_before_fsync_returns_an_error_and_keeps_the_log_readable(
    review_set: ReviewSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LabelStore(tmp_path)
    store.save(answer(review_set, theme="yes"))

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("pipeline.review.labels.os.fsync", broken_fsync)
    with pytest.raises(OSError):
        store.save(answer(review_set, theme="no"))
    monkeypatch.undo()
    assert store.records()[0]["theme"] == "yes"


def test_the_latest_answer_of_a_reviewer_on_an_item_is_the_one_that_counts(
    review_set: ReviewSet, tmp_path: Path
) -> None:
    store = LabelStore(tmp_path)
    store.save(answer(review_set, theme="yes"))
    store.save(answer(review_set, theme="no"))
    latest = store.latest()
    assert len(latest) == 1 and latest["theme"].item() == "no"
