"""One headless Chromium for every browser test, the hand-built run folder, and a live server over it.

The browser is Debian's ``chromium`` (``/usr/bin/chromium``, installed by ``make setup``), driven by
Playwright's Python client; ``playwright install`` is never needed. Without Chromium the browser
tests are skipped with the reason, except in CI (``CI=true``), where they fail instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browse_helpers import build_run_dir, serving

from benchmarks._setup import CHROMIUM, CHROMIUM_ARGS

SCREENSHOTS = Path(__file__).resolve().parents[2] / "outputs" / "test-screenshots"
#: Records CSP violations, so a test can assert that nothing was even attempted.
WATCH_CSP = (
    "window.__violations = [];"
    "document.addEventListener('securitypolicyviolation', e => window.__violations.push(e.violatedDirective));"
)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"browser tests must run in CI: {reason}; run `make setup` (it installs Debian's chromium).")
    pytest.skip(f"{reason}; run `make setup` to install it (apt-get install chromium)")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        _unavailable(f"no Chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page; fails the test if the page threw or logged an error (a CSP refusal included)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(WATCH_CSP)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    tab.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
    yield tab
    context.close()
    assert errors == [], errors


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_run_dir(tmp_path_factory.mktemp("browser"))


@pytest.fixture(scope="session")
def server_url(run_dir: Path) -> Iterator[str]:
    """``insights serve`` over the hand-built run, on a free loopback port, in a thread."""
    with serving(run_dir) as url:
        yield url


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
