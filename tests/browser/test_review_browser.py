"""The review page in headless Chromium: a full review by keyboard, two reviewers, measures that update."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from browse_helpers import RAW_EMAIL, XSS_LABEL, build_run_dir, serving
from playwright.sync_api import expect

from browser.browser_helpers import assert_inert
from pipeline.review.session import create_review

ITEMS = 12


@pytest.fixture(scope="module")
def review_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = build_run_dir(tmp_path_factory.mktemp("review-browser"))
    create_review(folder, size=ITEMS, seed=0)
    return folder


@pytest.fixture(scope="module")
def review_url(review_run: Path) -> Iterator[str]:
    """``insights serve`` over the run with its review set, on a free loopback port, in a thread."""
    with serving(review_run) as url:
        yield url


def start(page, url: str, name: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(url + "review")
    page.wait_for_selector("html[data-ready='1']")
    page.fill("#reviewer", name)
    page.press("#reviewer", "Enter")
    expect(page.locator("#item-text")).to_be_visible()


def test_a_full_review_by_keyboard_with_two_reviewers_updates_the_measures(page, review_url, screenshots) -> None:
    start(page, review_url, "ann")
    expect(page.locator("#progress")).to_have_text(f"Item 1 of {ITEMS} · 0 rated by ann")
    expect(page.locator("#measures-totals")).to_contain_text(f"0 of {ITEMS} items rated")
    for k in range(1, ITEMS + 1):
        keys = ["y", "c", "2", "s"] if k % 3 else ["n", "3", "a"]
        for key in keys:
            page.keyboard.press(key)
        if k % 3 == 0:  # pick another category from the list: m focuses it
            page.keyboard.press("m")
            page.select_option("#node-select", "safety.scams")
            expect(page.locator("#node-select")).not_to_be_focused()
        page.keyboard.press("Enter")
        expect(page.locator("#measures-totals")).to_contain_text(f"{k} of {ITEMS} items rated")
    expect(page.locator("#progress")).to_contain_text(f"{ITEMS} rated by ann")
    expect(page.locator("#m-theme tbody tr").first).to_be_visible()
    expect(page.locator("#m-confusion")).to_contain_text("Scams")
    expect(page.locator("#m-calibration tbody tr").first).to_be_visible()
    assert RAW_EMAIL not in page.locator("body").inner_text()
    assert_inert(page)

    # a second reviewer rates the first three items the same way: agreement appears
    page.fill("#reviewer", "bob")
    page.click("#start")
    expect(page.locator("#progress")).to_have_text(f"Item 1 of {ITEMS} · 0 rated by bob")
    for _ in range(3):
        for key in ("y", "c", "2", "s", "Enter"):
            page.keyboard.press(key)
    expect(page.locator("#measures-totals")).to_contain_text("2 reviewers · 3 rated more than once")
    expect(page.locator("#m-pairs")).to_contain_text("ann · bob")
    page.screenshot(path=str(screenshots / "review.png"), full_page=True)


def test_renaming_a_theme_in_the_page_writes_curation_yaml(page, review_url, review_run) -> None:
    page.goto(review_url + "review")
    page.wait_for_selector("#rename-0")
    expect(page.locator("#label-2")).to_have_value(XSS_LABEL)  # hostile labels stay text
    page.fill("#label-0", "Password reset mail")
    page.click("#rename-0")
    expect(page.locator("#curation-status")).to_have_text("saved")
    page.select_option("#merge-2", "0")
    expect(page.locator("#curation-status")).to_have_text("saved")
    curation = yaml.safe_load((review_run / "curation.yaml").read_text(encoding="utf-8"))
    assert curation["themes"][0]["label"] == "Password reset mail" and curation["themes"][2]["merged_into"] == 0
    expect(page.locator("#label-0")).to_have_value("Password reset mail")
    assert_inert(page)


def test_the_rater_guide_shows_every_node_served_and_from_disk(page, review_url, review_run) -> None:
    for url in (review_url + "guide", (review_run / "rater_guide.html").as_uri()):
        page.goto(url)
        expect(page.locator("section.node")).to_have_count(41)
        expect(page.locator("#node-safety\\.self_harm")).to_contain_text("What it is not")
        assert page.evaluate("() => getComputedStyle(document.querySelector('section.node')).borderTopStyle") == "solid"
        assert page.evaluate("() => window.__violations") == []
