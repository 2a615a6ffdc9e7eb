"""Review sets: every theme and node covered, severe and doubtful rows favoured, reproducible by seed."""

from __future__ import annotations

import numpy as np
import pytest
from review_helpers import THEMES, review_feedback

from pipeline.errors import InputError
from pipeline.review.sampling import draw_review_set, load_review_set, write_review_set


def test_every_theme_and_every_node_present_gets_an_item() -> None:
    feedback, themes = review_feedback()
    items = draw_review_set(feedback, themes, size=10, seed=1).items
    assert set(items["theme_id"]) >= {t for t, *_ in THEMES}
    nodes = set(feedback.loc[feedback["status"] != "excluded", "category_id"].fillna("unmapped"))
    assert set(items["category_id"].fillna("unmapped")) == nodes


def test_the_same_seed_draws_the_same_items_and_another_seed_does_not() -> None:
    feedback, themes = review_feedback()
    first = draw_review_set(feedback, themes, size=20, seed=5).items
    again = draw_review_set(feedback, themes, size=20, seed=5).items
    other = draw_review_set(feedback, themes, size=20, seed=6).items
    assert list(first["row_id"]) == list(again["row_id"])
    assert list(first["row_id"]) != list(other["row_id"])


def test_critical_and_low_confidence_rows_are_drawn_more_often_than_their_share() -> None:
    feedback, themes = review_feedback()
    critical_share = (feedback["severity"] == "critical").sum() / (feedback["status"] != "excluded").sum()
    drawn = []
    for seed in range(20):
        items = draw_review_set(feedback, themes, size=30, seed=seed).items
        weighted = items[items["stratum"] == "weighted"]
        drawn.append((weighted["severity"] == "critical").mean())
    assert np.mean(drawn) > 1.5 * critical_share
    # same theme, node and severity: only the confidence differs, half the rows sure, half in doubt
    same = feedback[feedback["theme_id"] == 0].copy()
    same["category_confidence"] = np.where(np.arange(len(same)) % 2, 0.95, 0.2)
    doubtful = [
        (draw_review_set(same, themes, size=10, seed=seed).items["category_confidence"] == 0.2).mean()
        for seed in range(20)
    ]
    assert np.mean(doubtful) > 0.55


def test_excluded_rows_are_never_drawn_and_the_text_shown_is_the_redacted_one() -> None:
    feedback, themes = review_feedback()
    items = draw_review_set(feedback, themes, size=200, seed=0).items
    assert len(items) == (feedback["status"] != "excluded").sum()
    assert not items["row_id"].str.startswith("x").any()
    assert items["text"].str.contains("[EMAIL]", regex=False).any()
    assert not items["query"].dropna().str.contains("jane@example.com").any()


def test_the_sample_and_its_seed_are_stored_in_the_run(tmp_path) -> None:
    feedback, themes = review_feedback()
    drawn = draw_review_set(feedback, themes, size=12, seed=9)
    write_review_set(drawn, tmp_path)
    stored = load_review_set(tmp_path)
    assert stored.info["seed"] == 9 and stored.info["query_column"] == "search_query"
    assert list(stored.items["item_id"]) == list(drawn.items["item_id"])


def test_a_size_below_one_is_refused_with_the_value() -> None:
    feedback, themes = review_feedback()
    with pytest.raises(InputError, match="got 0"):
        draw_review_set(feedback, themes, size=0)
