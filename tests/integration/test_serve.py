"""``insights serve``: the JSON API over a run folder, its security headers, and the CLI around it."""

from __future__ import annotations

import pytest
from browse_helpers import LOGIN_ROWS, META_EMAIL, OUTLIER_ROWS, RAW_EMAIL, XSS, build_run_dir
from cli_helpers import invoke
from starlette.testclient import TestClient
from typer.testing import CliRunner

from pipeline.browse.serve import create_app
from pipeline.cli import app


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return build_run_dir(tmp_path_factory.mktemp("serve"))


@pytest.fixture(scope="module")
def client(run_dir):
    return TestClient(create_app(run_dir), base_url="http://127.0.0.1:8765")


def test_page_links_its_assets_and_embeds_the_summary_in_server_mode(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script src="static/app.js"></script>' in page.text
    assert '"mode":"server"' in page.text
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/app.css").headers["content-type"].startswith("text/css")


def test_every_response_carries_a_strict_policy(client):
    for path in ("/", "/api/summary", "/static/app.js", "/api/themes/0"):
        headers = client.get(path).headers
        assert "default-src 'none'" in headers["content-security-policy"]
        assert "unsafe-inline" not in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"


def test_theme_verbatims_are_paged_over_every_row(client):
    first = client.get("/api/themes/0/verbatims", params={"page": 1, "per_page": 20}).json()
    last = client.get("/api/themes/0/verbatims", params={"page": 3, "per_page": 20}).json()
    assert (first["total"], first["pages"], len(first["items"]), len(last["items"])) == (LOGIN_ROWS + 1, 3, 20, 6)
    assert client.get("/api/themes/0/verbatims", params={"q": "number 07"}).json()["total"] == 1


def test_search_covers_outliers_and_filters_by_theme(client):
    hits = client.get("/api/search", params={"q": "bananas", "per_page": 50}).json()
    assert hits["total"] == OUTLIER_ROWS and {h["status"] for h in hits["items"]} == {"outlier"}
    assert client.get("/api/search", params={"q": "password", "theme": 1}).json()["total"] == 0
    assert client.get("/api/search", params={"q": "password", "theme": 0}).json()["total"] == LOGIN_ROWS


def test_theme_detail_has_time_and_metadata_and_unknown_theme_is_404(client):
    detail = client.get("/api/themes/0").json()
    assert detail["verbatims_total"] == LOGIN_ROWS + 1 and detail["daily"]
    assert {b["column"] for b in detail["breakdowns"]} == {"search_query", "locale"}
    assert client.get("/api/themes/99").status_code == 404
    assert client.get("/api/themes/99/verbatims").status_code == 404


def test_bad_parameters_are_a_400_that_names_them(client):
    response = client.get("/api/search", params={"q": "x", "page": "two"})
    assert response.status_code == 400 and "'page'" in response.json()["error"]


def test_requests_for_another_host_are_refused_on_loopback(run_dir):
    foreign = TestClient(create_app(run_dir), base_url="http://attacker.example:8765")
    assert foreign.get("/api/summary").status_code == 400


def test_no_response_carries_raw_text_or_unredacted_metadata(client):
    bodies = [client.get(p).text for p in ("/", "/api/summary", "/api/themes/0", "/api/themes/2")]
    bodies.append(client.get("/api/themes/0/verbatims", params={"per_page": 200}).text)
    bodies.append(client.get("/api/search", params={"q": "log", "per_page": 200}).text)
    for body in bodies:
        assert RAW_EMAIL not in body and META_EMAIL not in body
    assert any("[EMAIL]" in body for body in bodies)


def test_the_page_escapes_feedback_in_its_embedded_json(client):
    page = client.get("/").text
    assert page.lower().count("<script") == 2
    for payload in XSS.values():
        assert payload not in page


def test_serve_cli_rejects_a_missing_or_non_run_folder_in_one_line(tmp_path):
    for target, message in ((tmp_path / "nope", "no such run folder"), (tmp_path, "not a run folder")):
        result = CliRunner().invoke(app, ["serve", str(target)])
        assert result.exit_code == 2
        assert result.stderr.startswith("error: ") and message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_serve_help_names_host_and_port():
    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    assert "--host" in result.stdout and "--port" in result.stdout and "127.0.0.1" in result.stdout


def test_run_summary_says_how_to_open_and_serve_the_report(tmp_path, write_csv):
    rows = [["text"]] + [[f"login fails again {i}"] for i in range(15)] + [[f"search is broken {i}"] for i in range(15)]
    result = invoke(tmp_path, write_csv(rows))
    assert result.exit_code == 0, result.output
    assert "report.html" in result.stdout and "file://" in result.stdout
    assert f"insights serve {tmp_path / 'out' / 't'}" in result.stdout
