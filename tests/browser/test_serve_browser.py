"""The pages of ``insights serve`` in headless Chromium: the same views, with pages and search over every row."""

from __future__ import annotations

from browse_helpers import LOGIN_ROWS, OUTLIER_ROWS, RAW_EMAIL, XSS, XSS_LABEL
from playwright.sync_api import expect

from browser.browser_helpers import assert_inert, ready


def test_served_table_filters_then_a_theme_pages_through_all_its_verbatims(page, server_url):
    ready(page, server_url)
    expect(page.locator("#run-id")).to_have_text("hand-built")
    page.select_option("#filter-severity", "high")
    expect(page.locator("#theme-table tbody tr")).to_have_count(1)
    page.click("a.theme-link[data-theme='0']")
    expect(page.locator("#verbatims-info")).to_have_text(f"Page 1 of 3 · {LOGIN_ROWS + 1} verbatims")
    expect(page.locator("#breakdowns")).to_contain_text("login help")
    page.click("#verbatims-next")
    expect(page.locator("#verbatims-info")).to_have_text(f"Page 2 of 3 · {LOGIN_ROWS + 1} verbatims")
    expect(page.locator("#verbatims li").first).to_contain_text("Login verbatim number 20")
    page.click("#verbatims-next")
    expect(page.locator("#verbatims li")).to_have_count(LOGIN_ROWS + 1 - 40)
    expect(page.locator("#theme-detail .note")).to_have_count(0)  # nothing is truncated when served


def test_served_search_covers_every_row_outliers_included(page, server_url):
    ready(page, server_url + "#search/")
    expect(page.locator("#search")).to_contain_text("every row")
    page.fill("#verbatim-search", "BANANAS")
    page.press("#verbatim-search", "Enter")
    expect(page.locator("#search-info")).to_have_text(f"Page 1 of 1 · {OUTLIER_ROWS} matches")
    expect(page.locator("#search-list li").first).to_contain_text("outlier")
    page.fill("#verbatim-search", "log")
    page.press("#verbatim-search", "Enter")
    expect(page.locator("#search-info")).to_have_text(f"Page 1 of 3 · {LOGIN_ROWS + 1} matches")
    page.click("#search-next")
    expect(page.locator("#search-info")).to_have_text(f"Page 2 of 3 · {LOGIN_ROWS + 1} matches")
    assert RAW_EMAIL not in page.locator("body").inner_text()


def test_served_xss_payloads_render_as_text_and_never_run(page, server_url):
    ready(page, server_url + "#theme/2")
    expect(page.locator("#theme-label")).to_have_text(XSS_LABEL)
    expect(page.locator("#verbatims li")).to_have_count(6)
    shown = page.locator("#verbatims").inner_text()
    for payload in XSS.values():
        assert payload in shown
    assert_inert(page)
    page.goto(server_url + "#search/typed")
    expect(page.locator("#search-list li")).to_have_count(len(XSS))
    assert_inert(page)
