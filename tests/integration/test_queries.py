"""Search-feedback specifics: a query column gives top queries per theme and a query roll-up."""

from __future__ import annotations

import pandas as pd

from pipeline import run
from pipeline.config import RunConfig

HARM = "searched for diet tips and got pro-anorexia videos showing how to starve"
CRASH = "the app crashes every time I open the camera after the update"


def test_queries_are_rolled_up_and_listed_per_theme(fast_config: RunConfig) -> None:
    texts = [f"{HARM} {i}" for i in range(30)] + [f"{CRASH} {i}" for i in range(30)]
    queries = ["diet tips"] * 20 + ["healthy recipes"] * 10 + [""] * 30
    frame = pd.DataFrame({"id": range(60), "text": texts, "search_query": queries})
    result = run(frame, fast_config, write=True)

    assert result.manifest["trends"]["query_column"] == "search_query"
    table = result.queries
    assert table is not None and table["query"].tolist()[:2] == ["diet tips", "healthy recipes"]
    assert table["rows"].sum() == 30  # empty queries are not a query
    theme_of_harm = result.feedback.loc[0, "theme_id"]
    top = result.themes.set_index("theme_id").loc[theme_of_harm, "top_queries"]
    assert list(top)[:1] == ["diet tips"]
    assert (result.run_dir / "queries.csv").is_file()


def test_without_a_query_column_there_is_no_rollup(fast_config: RunConfig) -> None:
    frame = pd.DataFrame({"text": [f"{CRASH} {i}" for i in range(25)]})
    result = run(frame, fast_config, write=False)
    assert result.queries is None
    assert all(len(q) == 0 for q in result.themes["top_queries"])
