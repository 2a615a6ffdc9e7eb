"""What the browser tests check on any view: the page is ready, and no feedback ever ran as code."""

from __future__ import annotations

from typing import Any

#: How many elements of each kind the page itself creates (the time chart is our one <svg>).
INERT_CHECK = """() => ({
  xss: window.__xss === undefined ? null : String(window.__xss),
  scripts: document.querySelectorAll('script').length,
  imgs: document.querySelectorAll('img, iframe, object, embed').length,
  svgs: [...document.querySelectorAll('svg')].filter(s => s.id !== 'time-chart').length,
  handlers: [...document.querySelectorAll('*')]
    .filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length,
  violations: window.__violations || [],
})"""


def ready(page: Any, url: str) -> None:
    """Open ``url`` and wait until the script has rendered its first view."""
    page.goto(url)
    page.wait_for_selector("html[data-ready='1']")


def assert_inert(page: Any) -> None:
    """No payload ran, none became an element or a handler, and no script was even refused by the CSP."""
    state = page.evaluate(INERT_CHECK)
    assert state == {"xss": None, "scripts": 2, "imgs": 0, "svgs": 0, "handlers": 0, "violations": []}, state


def point_on_map(page: Any, contains: str) -> dict[str, Any]:
    """Client coordinates of the first map point whose text contains ``contains``, and the text a hover
    there shows (the first point drawn nearest to that pixel)."""
    return page.evaluate(
        """(needle) => {
          const pts = JSON.parse(document.getElementById('insights-data').textContent).map.points;
          const c = document.getElementById('theme-map');
          c.scrollIntoView({block: 'center'});
          const r = c.getBoundingClientRect();
          const pad = 10, W = c.width - 2 * pad, H = c.height - 2 * pad;
          const px = p => [pad + p[0] / 1000 * W, pad + (1000 - p[1]) / 1000 * H];
          const i = pts.findIndex(p => p[3].includes(needle));
          const [x, y] = px(pts[i]);
          let best = -1, bd = 64;
          pts.forEach((p, j) => {
            const [a, b] = px(p), d = (a - x) ** 2 + (b - y) ** 2;
            if (d < bd) { bd = d; best = j; }
          });
          return {x: r.left + x * r.width / c.width, y: r.top + y * r.height / c.height, text: pts[best][3]};
        }""",
        contains,
    )
