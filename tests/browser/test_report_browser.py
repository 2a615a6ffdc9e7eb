"""report.html opened from disk in headless Chromium: what an analyst sees and can do, and that it is inert."""

from __future__ import annotations

import pytest
from browse_helpers import (
    ALERTS,
    EXCLUDED_ROWS,
    LOGIN_ROWS,
    RAW_EMAIL,
    XSS,
    XSS_CATEGORY,
    XSS_LABEL,
    XSS_NOTE,
    build_run_dir,
    feedback_table,
)
from playwright.sync_api import expect

from browser.browser_helpers import assert_inert, point_on_map, ready
from pipeline.browse.view import Limits


@pytest.fixture
def report(page, run_dir):
    ready(page, (run_dir / "report.html").as_uri())
    return page


def _labels(page):
    return page.locator("#theme-table tbody a.theme-link").all_inner_texts()


def test_overview_shows_accounting_categories_severities_alerts_and_notes(report, screenshots):
    stats = report.locator("#stats")
    expect(stats.locator("[data-stat=rows_in] dd")).to_have_text(str(len(feedback_table())))
    expect(stats.locator("[data-stat=excluded] dd")).to_have_text("2")
    expect(report.locator("#categories tbody tr")).to_have_count(3)
    expect(report.locator("#categories tbody tr").first).to_contain_text("Account access")
    expect(report.locator("#severities")).to_contain_text("critical")
    expect(report.locator("#alerts")).to_contain_text(ALERTS[0]["message"])
    expect(report.locator("#alerts")).to_contain_text("spike, rise")
    expect(report.locator("#alerts a.theme-link")).to_have_attribute("href", "#theme/1")
    expect(report.locator(".note").first).to_have_text(XSS_NOTE)
    expect(report.locator("#theme-count")).to_have_text("Showing 3 of 3 themes.")
    report.screenshot(path=str(screenshots / "overview.png"), full_page=True)


def test_theme_table_filters_by_category_severity_and_trend_and_searches_text(report):
    report.select_option("#filter-severity", "critical")
    assert _labels(report) == ["Self-harm content, diet search"]
    report.select_option("#filter-severity", "")
    report.select_option("#filter-category", XSS_CATEGORY)
    assert _labels(report) == [XSS_LABEL]
    report.select_option("#filter-category", "")
    report.select_option("#filter-trend", "rising")
    assert _labels(report) == ["Login, password reset"]
    report.select_option("#filter-trend", "")
    report.fill("#theme-search", "DIET videos")
    assert _labels(report) == ["Self-harm content, diet search"]
    report.fill("#theme-search", "nothing like this")
    expect(report.locator("#theme-table tbody")).to_have_text("No theme matches.")
    expect(report.locator("#theme-count")).to_have_text("Showing 0 of 3 themes.")


def test_theme_table_sorts_by_a_column_and_back(report):
    assert _labels(report)[0] == "Self-harm content, diet search"  # rank order
    report.click("th[data-sort=size] button")
    assert _labels(report)[0] == "Login, password reset"  # largest first
    expect(report.locator("th[data-sort=size]")).to_have_attribute("aria-sort", "descending")
    report.click("th[data-sort=size] button")
    assert _labels(report)[0] == XSS_LABEL
    report.click("th[data-sort=severity] button")
    assert _labels(report)[0] == "Self-harm content, diet search"  # critical first


def test_theme_view_shows_taxonomy_time_verbatims_pages_and_metadata(report, screenshots):
    report.click("a.theme-link[data-theme='0']")
    expect(report.locator("#theme-label")).to_have_text("Login, password reset")
    expect(report.locator("#keywords .kw-chip")).to_have_count(4)
    taxonomy = report.locator("#taxonomy")
    for text in ("Account access (product.account_access)", "product", "high", "78.0%", "rising"):
        expect(taxonomy).to_contain_text(text)
    expect(report.locator("#time-chart rect")).to_have_count(6)
    expect(report.locator("#representatives blockquote")).to_have_count(3)
    expect(report.locator("#verbatims-info")).to_have_text(f"Page 1 of 3 · {LOGIN_ROWS + 1} verbatims")
    expect(report.locator("#verbatims li")).to_have_count(20)
    expect(report.locator("table[data-column=locale]")).to_contain_text("de-DE")
    report.screenshot(path=str(screenshots / "theme.png"), full_page=True)
    report.click("#verbatims-next")
    expect(report.locator("#verbatims li").first).to_contain_text("Login verbatim number 20")
    report.click("#verbatims-next")
    expect(report.locator("#verbatims li")).to_have_count(LOGIN_ROWS + 1 - 40)
    expect(report.locator("#verbatims-next")).to_be_disabled()
    report.go_back()  # the hash route: back to the table
    expect(report.locator("#theme-table")).to_be_visible()


def test_map_hover_shows_the_redacted_text_and_click_opens_the_theme(report):
    spot = point_on_map(report, "[EMAIL]")
    report.mouse.move(spot["x"], spot["y"])
    expect(report.locator("#map-tip")).to_be_visible()
    expect(report.locator("#map-tip .tip-text")).to_have_text(spot["text"])
    assert RAW_EMAIL not in report.locator("body").inner_text()
    report.mouse.click(spot["x"], spot["y"])
    expect(report.locator("#theme-view")).to_be_visible()


def test_search_over_embedded_verbatims_pages_and_says_what_it_covers(report):
    report.click("nav a[href='#search/']")
    report.fill("#verbatim-search", "Number 2")  # every word, any case: numbers 02, 12, 20-29, 32, 42
    report.press("#verbatim-search", "Enter")
    expect(report.locator("#search-info")).to_have_text("Page 1 of 1 · 14 matches")
    expect(report.locator("#search-list li")).to_have_count(14)
    expect(report.locator("#search-list li").first.locator("a.theme-link")).to_have_text("Login, password reset")
    expect(report.locator("#search")).to_contain_text("insights serve")


def test_xss_payloads_render_as_text_and_never_run(report):
    assert_inert(report)
    expect(report.locator("#filter-category option", has_text="Odd")).to_have_text(XSS_CATEGORY)
    report.click("a.theme-link[data-theme='2']")
    expect(report.locator("#theme-label")).to_have_text(XSS_LABEL)
    expect(report.locator("#keywords")).to_contain_text(XSS["svg"])
    shown = report.locator("#verbatims").inner_text() + report.locator("#breakdowns").inner_text()
    for payload in XSS.values():
        assert payload in shown
    assert_inert(report)
    report.goto(report.url.split("#")[0] + "#search/typed")
    expect(report.locator("#search-list li")).to_have_count(len(XSS))
    assert_inert(report)
    report.goto(report.url.split("#")[0] + "#map")
    spot = point_on_map(report, XSS["close"])
    report.mouse.move(spot["x"], spot["y"])
    expect(report.locator("#map-tip .tip-text")).to_have_text(spot["text"])
    assert_inert(report)


def test_report_requests_nothing_from_the_network(page, run_dir):
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    ready(page, (run_dir / "report.html").as_uri())
    page.click("a.theme-link[data-theme='1']")
    page.goto(page.url.split("#")[0] + "#search/diet")
    expect(page.locator("#search-list li")).to_have_count(8)
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []


def test_a_truncated_report_says_so_and_points_to_serve(page, tmp_path):
    run_dir = build_run_dir(tmp_path, limits=Limits(verbatims_per_theme=10, map_points=5))
    ready(page, (run_dir / "report.html").as_uri() + "#theme/0")
    expect(page.locator("#theme-detail .note")).to_contain_text(f"first 10 of {LOGIN_ROWS + 1} verbatims")
    expect(page.locator("#theme-detail .note")).to_contain_text(f"insights serve {run_dir}")
    page.goto(page.url.split("#")[0] + "#map")
    expect(page.locator("#map-count")).to_contain_text(
        f"A random sample of 5 of {len(feedback_table()) - EXCLUDED_ROWS} points"
    )


@pytest.mark.slow
def test_report_of_a_real_run_opens_lists_every_theme_and_pages_the_top_one(page, real_runs):
    first = real_runs["first"]
    ready(page, (first.run_dir / "report.html").as_uri())
    expect(page.locator("#theme-table tbody tr")).to_have_count(len(first.themes))
    top = first.themes.iloc[0]
    page.click(f"a.theme-link[data-theme='{int(top['theme_id'])}']")
    expect(page.locator("#theme-label")).to_have_text(str(top["label"]))
    expect(page.locator("#verbatims-info")).to_contain_text(
        f"{min(int(top['size']), Limits().verbatims_per_theme)} verbatims"
    )
