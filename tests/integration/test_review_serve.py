"""The review API of ``insights serve``: validation before any write, concurrent saves over HTTP, the CLI."""

from __future__ import annotations

import json
import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from browse_helpers import RAW_EMAIL, build_run_dir, serving
from starlette.testclient import TestClient
from typer.testing import CliRunner

from pipeline.browse.serve import create_app
from pipeline.cli import app
from pipeline.review.labels import Answer, LabelStore
from pipeline.review.session import create_review


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = build_run_dir(tmp_path_factory.mktemp("review-serve"))
    create_review(folder, size=12, seed=0)
    return folder


@pytest.fixture(scope="module")
def client(run_dir: Path) -> TestClient:
    return TestClient(create_app(run_dir), base_url="http://127.0.0.1:8765")


def invoke(args: list[str]):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, args)


def log_bytes(run_dir: Path) -> bytes:
    path = LabelStore(run_dir).path
    return path.read_bytes() if path.exists() else b""


def test_the_review_page_and_guide_are_served_under_the_strict_policy(client: TestClient) -> None:
    for path in ("/review", "/guide", "/static/review.js", "/static/review.css", "/static/guide.css"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "default-src 'none'" in response.headers["content-security-policy"]
    assert '<script src="static/review.js"></script>' in client.get("/review").text
    assert 'href="review"' in client.get("/").text


def test_items_show_only_redacted_text(client: TestClient) -> None:
    items = client.get("/api/review/items").json()["items"]
    assert len(items) == 12 and RAW_EMAIL not in json.dumps(items)
    assert "text" in items[0] and "theme_label" in items[0]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"item_id": "i9999", "reviewer": "ann", "theme": "yes"}, 404),
        ({"item_id": "i0001", "reviewer": "ann", "theme": "perhaps"}, 422),
        ({"item_id": "i0001", "reviewer": "ann", "needs_met": "very"}, 422),
        ({"item_id": "i0001", "reviewer": "ann", "severity": 3}, 422),
        ({"item_id": "i0001", "reviewer": "", "theme": "yes"}, 422),
        (["not", "an", "object"], 400),
    ],
)
def test_bad_answers_get_a_clear_4xx_and_nothing_is_written(
    client: TestClient, run_dir: Path, body: object, status: int
) -> None:
    before = log_bytes(run_dir)
    response = client.post("/api/review/labels", json=body)
    assert response.status_code == status and response.json()["error"]
    assert log_bytes(run_dir) == before


def test_writes_must_be_same_origin_json_of_bounded_size(client: TestClient, run_dir: Path) -> None:
    before = log_bytes(run_dir)
    good = {"item_id": "i0001", "reviewer": "ann", "theme": "yes"}
    form = client.post("/api/review/labels", content=json.dumps(good), headers={"content-type": "text/plain"})
    assert form.status_code == 415
    foreign = client.post("/api/review/labels", json=good, headers={"origin": "http://evil.example"})
    assert foreign.status_code == 403
    huge = client.post("/api/review/labels", json={**good, "reviewer": "a" * 20000})
    assert huge.status_code == 413
    assert (
        client.post("/api/review/labels", content="{broken", headers={"content-type": "application/json"}).status_code
        == 400
    )
    assert log_bytes(run_dir) == before


def test_another_host_name_is_refused(client: TestClient) -> None:
    assert client.get("/api/review/items", headers={"host": "attacker.example"}).status_code == 400


def test_two_reviewers_saving_at_the_same_moment_over_http_lose_nothing(run_dir: Path) -> None:
    store = LabelStore(run_dir)
    before = len(store.records())
    start = threading.Barrier(2)

    def reviewer(name: str) -> list[int]:
        start.wait()
        codes = []
        for k in range(1, 13):
            body = json.dumps({"item_id": f"i{k:04d}", "reviewer": name, "severity": "low"}).encode()
            request = urllib.request.Request(
                f"{base}api/review/labels", data=body, headers={"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                codes.append(response.status)
        return codes

    with serving(run_dir) as base, ThreadPoolExecutor(2) as pool:  # `reviewer` reads `base`
        results = list(pool.map(reviewer, ["concurrent-a", "concurrent-b"]))
    assert results == [[201] * 12, [201] * 12]
    records = store.records()
    assert len(records) == before + 24
    for name in ("concurrent-a", "concurrent-b"):
        assert sorted(r["item_id"] for r in records if r["reviewer"] == name) == [f"i{k:04d}" for k in range(1, 13)]


def test_insights_review_draws_then_refuses_to_orphan_answers_and_measures(tmp_path: Path) -> None:
    folder = build_run_dir(tmp_path)
    result = invoke(["review", str(folder), "--size", "6", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "review set: " in result.output and "rater guide" in result.output
    LabelStore(folder).save(Answer("i0001", "ann", "yes", None, None, None))
    again = invoke(["review", str(folder), "--size", "6"])
    assert again.exit_code == 2 and "--force" in again.output
    measured = invoke(["review", str(folder), "--measures"])
    assert measured.exit_code == 0 and "1 of" in measured.output
    assert (folder / "review_measures" / "agreement.csv").is_file()


def test_insights_review_on_a_folder_that_is_not_a_run_says_so(tmp_path: Path) -> None:
    result = invoke(["review", str(tmp_path)])
    assert result.exit_code == 2 and "not a run folder" in result.output


def test_insights_taxonomy_guide_writes_one_page_with_every_leaf(tmp_path: Path) -> None:
    out = tmp_path / "guide.html"
    result = invoke(["taxonomy", "guide", "--out", str(out)])
    assert result.exit_code == 0 and "41 categories" in result.output
    page = out.read_text(encoding="utf-8")
    assert page.count('<section class="node"') == 41 and "<script" not in page
    assert "What it is not" in page and "style-src &#39;sha256-" in page


def test_serve_and_review_say_what_they_take_in_help() -> None:
    assert "--reviewer" in invoke(["serve", "--help"]).output
    help_text = invoke(["review", "--help"]).output
    assert "--size" in help_text and "--measures" in help_text
