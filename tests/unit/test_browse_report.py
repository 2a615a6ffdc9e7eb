"""The browsing views' data and report.html, without a browser: escaping, PII, limits, self-containment."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re

import pandas as pd
import pytest
from browse_helpers import (
    LOGIN_ROWS,
    META_EMAIL,
    RAW_EMAIL,
    XSS,
    accounting,
    build_run_dir,
    feedback_table,
    themes_table,
)

from pipeline.browse.report import script_json
from pipeline.browse.view import Limits, RunView
from pipeline.errors import InputError
from pipeline.report import report_html


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return build_run_dir(tmp_path_factory.mktemp("browse"))


@pytest.fixture(scope="module")
def page(run_dir):
    return (run_dir / "report.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def view(run_dir):
    return RunView.from_dir(run_dir)


def _embedded(page: str) -> dict:
    block = re.search(r'<script type="application/json" id="insights-data">(.*?)</script>', page, re.S)
    assert block
    return json.loads(block.group(1))


def test_script_json_cannot_close_its_script_element_or_break_lines():
    text = script_json({"t": "</script><!-- & \u2028 \u2029 <img>"})
    assert not set("<>&\u2028\u2029") & set(text)
    assert json.loads(text) == {"t": "</script><!-- & \u2028 \u2029 <img>"}


def test_report_holds_exactly_its_own_two_scripts_and_no_markup_from_feedback(page):
    assert page.lower().count("<script") == 2  # the JSON block and the app
    for tag in ("<img", "<svg", "<b>", "<i>"):
        assert tag not in page, tag
    for payload in XSS.values():
        assert payload not in page


def test_report_never_contains_raw_text_or_unredacted_metadata(page):
    assert RAW_EMAIL not in page
    assert META_EMAIL not in page
    assert "[EMAIL]" in page


def test_report_csp_allows_only_its_own_script_and_style_by_hash(page):
    csp = html.unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1))
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp and "http" not in csp
    script = re.findall(r"<script>(.*?)</script>", page, re.S)
    style = re.findall(r"<style>(.*?)</style>", page, re.S)
    assert len(script) == 1 and len(style) == 1
    for body, directive in ((script[0], "script-src"), (style[0], "style-src")):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"{directive} 'sha256-{digest}'" in csp


def test_report_loads_nothing_remote(page):
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "@import" not in page and "url(" not in page


def test_report_embeds_overview_themes_taxonomy_alerts_and_verbatims(page):
    data = _embedded(page)
    assert data["mode"] == "static"
    assert data["overview"]["rows_in"] == len(feedback_table())
    assert [t["rank"] for t in data["themes"]] == [1, 2, 3]
    first = data["themes"][0]
    assert (first["category"], first["severity"], first["trend"], first["branch"]) == (
        "Self-harm",
        "critical",
        "spike",
        "safety",
    )
    assert data["facets"]["severity"] == ["critical", "high", "none"]
    assert data["overview"]["alerts"][0]["detectors"] == ["spike", "rise"]
    assert data["overview"]["categories"][0]["category"] == "Account access"  # most rows first
    login = data["details"]["0"]
    assert login["verbatims_total"] == LOGIN_ROWS + 1 and len(login["verbatims"]) == LOGIN_ROWS + 1
    assert login["daily"] and sum(n for _, n in login["daily"]) == LOGIN_ROWS + 1


def test_report_limits_verbatims_and_map_points_and_keeps_the_totals():
    feedback = feedback_table()
    themes = themes_table(feedback)
    limits = Limits(verbatims_per_theme=10, map_points=7)
    page = report_html(themes, accounting(feedback), run_id="r", notes=[], feedback=feedback, limits=limits)
    data = _embedded(page)
    assert len(data["details"]["0"]["verbatims"]) == 10
    assert data["details"]["0"]["verbatims_total"] == LOGIN_ROWS + 1
    assert len(data["map"]["points"]) == 7
    assert data["map"]["total"] == int((feedback["status"] != "excluded").sum())


def test_report_without_the_feedback_table_still_shows_themes():
    feedback = feedback_table()
    themes = themes_table(feedback)[["rank", "theme_id", "label", "keywords", "size", "share", "representatives"]]
    page = report_html(themes, accounting(feedback), run_id="<b>id</b>", notes=[])
    data = _embedded(page)
    assert len(data["themes"]) == 3 and data["facets"] == {} and data["map"]["points"] == []
    assert "<b>id</b>" not in page and "&lt;b&gt;id&lt;/b&gt;" in page


def test_metadata_breakdowns_are_top_values_with_pii_redacted(view):
    detail = view.theme_detail(0)
    columns = {b["column"]: dict(b["values"]) for b in detail["breakdowns"]}
    assert set(columns) == {"search_query", "locale"}
    assert columns["search_query"]["login help"] == LOGIN_ROWS
    assert "contact [EMAIL]" in columns["search_query"]
    assert columns["locale"] == {"en-US": 24, "de-DE": 22}


def test_from_dir_never_reads_the_raw_text_column(view):
    assert "text" not in view.feedback.columns


def test_verbatims_page_through_a_theme_in_input_order(view):
    first, last = view.verbatims(0, page=1, per_page=20), view.verbatims(0, page=3, per_page=20)
    assert (first["total"], first["pages"], len(first["items"]), len(last["items"])) == (46, 3, 20, 6)
    assert first["items"][0]["text"].startswith("Login verbatim number 00")
    assert view.verbatims(0, page=99, per_page=20)["page"] == 3  # clamped


def test_search_needs_every_word_case_insensitive_across_all_rows(view):
    hits = view.search("BANANAS unrelated", per_page=100)
    assert hits["total"] == 5 and {i["status"] for i in hits["items"]} == {"outlier"}
    assert view.search("bananas login")["total"] == 0
    assert view.search("password", theme_id=1)["total"] == 0
    assert view.search("   ")["total"] == 0


def test_from_dir_names_what_is_missing(tmp_path):
    with pytest.raises(InputError, match="no such run folder"):
        RunView.from_dir(tmp_path / "nope")
    with pytest.raises(InputError, match=r"feedback\.parquet"):
        RunView.from_dir(tmp_path)


def test_optional_columns_absent_means_no_filters():
    feedback = feedback_table()
    themes = themes_table(feedback).drop(columns=["category", "category_id", "severity", "trend", "branch"])
    view = RunView(run_id="r", themes=themes, accounting=accounting(feedback), feedback=feedback)
    assert view.facets() == {}
    assert "categories" not in view.overview() and "severities" not in view.overview()
    assert "severity" not in view.theme_rows()[0]


def test_nan_and_timestamps_become_json(view):
    data = view.summary(limits=Limits())
    json.dumps(data, allow_nan=False)
    assert data["themes"][0]["first_seen"].startswith("2026-11-0")
    assert isinstance(pd.Timestamp(data["themes"][0]["last_seen"]), pd.Timestamp)


def test_trend_labels_come_from_the_trends_stage_flags_when_themes_lack_them():
    feedback = feedback_table()
    themes = themes_table(feedback).drop(columns=["trend"])
    trends = pd.DataFrame(
        {
            "kind": ["theme", "theme", "theme", "category"],
            "key": ["0", "1", "2", "0"],
            "new": [False, False, True, True],
            "spike": [True, False, True, False],
            "rise": [True, False, False, False],
            "escalation": [False, False, False, False],
        }
    )
    view = RunView(run_id="r", themes=themes, accounting=accounting(feedback), feedback=feedback, trends=trends)
    assert {t["id"]: t["trend"] for t in view.theme_rows()} == {0: "spike", 1: "steady", 2: "new"}
    assert view.facets()["trend"] == ["new", "spike", "steady"]
