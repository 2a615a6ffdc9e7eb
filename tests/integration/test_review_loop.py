"""The analyst loop end to end, model-free: run → review set → answers → curation → next run with --baseline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from starlette.testclient import TestClient

from pipeline import run
from pipeline.browse.serve import create_app
from pipeline.config import RunConfig
from pipeline.review.curation import CURATION_FILE, EXAMPLES_FILE
from pipeline.review.session import create_review

TOPICS = {
    "login": ("cannot log in password reset email never arrives account locked", "product.account_login"),
    "crash": ("app crashes on startup after the update freezes black screen", "product.bug_crash"),
    "stale": ("search results are old outdated news from last year stale", "search_quality.stale"),
    "scam": ("scam advert fake giveaway asks for card details fraud", "safety.scams"),
}


@pytest.fixture(scope="module")
def export() -> pd.DataFrame:
    """Four lexical topics of 60 reports each, which the model-free embedder separates cleanly."""
    rng = np.random.default_rng(0)
    rows = []
    for name, (words, _node) in TOPICS.items():
        for i in range(60):
            text = " ".join(rng.choice(words.split(), size=6)) + f" {name} report {i}"
            rows.append({"id": f"{name}-{i}", "text": text, "search_query": f"{name} help"})
    return pd.DataFrame(rows)


def topic_theme(result, topic: str) -> int:  # type: ignore[no-untyped-def]
    ids = result.feedback.loc[result.feedback["row_id"].str.startswith(f"{topic}-"), "theme_id"]
    return int(ids.mode().iloc[0])


def test_curated_names_merges_and_reviewed_examples_reach_the_next_run(
    export: pd.DataFrame, fast_config: RunConfig
) -> None:
    # Each topic is a word salad: in hashing space it has lexical sub-groups that the split of large themes
    # would separate. This test is about curation, so one topic stays one theme.
    fast_config = fast_config.with_overrides({"cluster.split_factor": 0})
    first = run(export, fast_config.with_overrides({"output.run_id": "day1"}))
    assert first.run_dir is not None
    login, crash, stale = (topic_theme(first, t) for t in ("login", "crash", "stale"))
    assert len({login, crash, stale}) == 3

    review_set = create_review(first.run_dir, size=16, seed=0)
    assert (first.run_dir / "rater_guide.html").is_file()
    client = TestClient(create_app(first.run_dir), base_url="http://127.0.0.1:8765")
    gold = {row_id: TOPICS[row_id.split("-")[0]][1] for row_id in export["id"]}
    for item in review_set.items.itertuples():
        for reviewer in ("ann", "bob"):
            answer = {"item_id": item.item_id, "reviewer": reviewer, "theme": "yes", "node": gold[item.row_id],
                      "severity": "medium", "needs_met": "slightly"}  # fmt: skip
            assert client.post("/api/review/labels", json=answer).status_code == 201
    measures = client.get("/api/review/measures").json()
    assert measures["totals"]["multi_rated_items"] == len(review_set.items)
    assert (first.run_dir / "review_measures" / "theme_precision.parquet").is_file()
    for action in (
        {"action": "rename", "theme_id": login, "label": "Password reset mail never arrives"},
        {"action": "merge", "theme_ids": [stale], "into": crash},
    ):
        assert client.post("/api/review/curation", json=action).status_code == 200

    second = run(export, fast_config.with_overrides({"output.run_id": "day2", "trends.baseline": str(first.run_dir)}))
    themes = second.themes.set_index("theme_id")
    assert themes.loc[login, "label"] == "Password reset mail never arrives"
    assert themes.loc[login, "curated"] == ["label"]
    # the merge: the stale reports now carry the crash theme's id, and the stale id is gone
    stale_rows = second.feedback["row_id"].str.startswith("stale-")
    assert stale not in set(second.feedback["theme_id"])
    assert (second.feedback.loc[stale_rows, "theme_id"] == crash).mean() > 0.9
    # the reviewed rows became examples of their nodes: the classifier was calibrated on them too
    review = second.manifest["review"]
    assert review["examples_from_baseline_review"] == len(review_set.items)
    examples_before = first.manifest["classify"]["calibration"]["examples"]
    assert second.manifest["classify"]["calibration"]["examples"] == examples_before + len(review_set.items)
    # and they are copied forward, with the curation, for the run after
    assert (second.run_dir / CURATION_FILE).is_file()
    carried = pd.read_csv(second.run_dir / EXAMPLES_FILE)
    assert len(carried) == len(review_set.items) and set(carried["node_id"]) <= {n for _, n in TOPICS.values()}
    reviewed_login = review_set.items.loc[review_set.items["row_id"].str.startswith("login-"), "row_id"]
    before = first.feedback.set_index("row_id").loc[list(reviewed_login), "category_id"]
    after = second.feedback.set_index("row_id").loc[list(reviewed_login), "category_id"]
    assert len(after) and (before != "product.account_login").any() and (after == "product.account_login").all()


def test_a_curated_name_is_not_given_to_another_theme_in_the_next_run(
    export: pd.DataFrame, fast_config: RunConfig
) -> None:
    fast_config = fast_config.with_overrides({"cluster.split_factor": 0})
    first = run(export, fast_config.with_overrides({"output.run_id": "day1"}))
    assert first.run_dir is not None
    login, crash = topic_theme(first, "login"), topic_theme(first, "crash")
    crash_label = first.themes.set_index("theme_id").loc[crash, "label"]
    client = TestClient(create_app(first.run_dir), base_url="http://127.0.0.1:8765")
    action = {"action": "rename", "theme_id": login, "label": crash_label}  # a person reuses another theme's label
    assert client.post("/api/review/curation", json=action).status_code == 200

    second = run(export, fast_config.with_overrides({"output.run_id": "day2", "trends.baseline": str(first.run_dir)}))
    themes = second.themes.set_index("theme_id")
    assert themes.loc[login, "label"] == crash_label  # the curated name wins
    assert themes.loc[crash, "label"].lower() != crash_label.lower()  # and the generated one moved aside
    assert not themes["label"].str.lower().duplicated().any()
