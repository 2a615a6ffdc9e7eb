"""Fuzzed exports and the browse server under load and abuse (a small share of ``make faults``)."""

from __future__ import annotations

from benchmarks.faults_fuzz import GENERATORS, fuzz
from benchmarks.faults_serve import ABUSE, abuse, killed_review_server, load, two_review_servers
from faults.fault_helpers import no_failures


def test_fuzzed_exports_of_every_kind_never_crash_and_every_row_is_accounted_for(tmp_path):
    outcome = fuzz(tmp_path, files=2 * len(GENERATORS), seed=3)
    no_failures(outcome)
    assert outcome.figures["ran"] > len(GENERATORS) // 2 and outcome.figures.get("refused", 0) > 0


def test_serve_answers_concurrent_clients_without_error(reference):
    outcome = load(reference.run_dir, requests=200, clients=20)
    no_failures(outcome)
    assert outcome.figures["errors"] == 0 and outcome.figures["requests"] == 200
    assert outcome.figures["p99_ms"] > 0


def test_serve_refuses_oversized_and_malformed_requests_at_once(reference):
    outcome = abuse(reference.run_dir)
    no_failures(outcome)
    assert outcome.trials == len(ABUSE)


def test_two_review_servers_lose_and_tear_no_answer(tmp_path, reference):
    outcome = two_review_servers(tmp_path, reference.run_dir, answers_per_server=80, threads=4)
    no_failures(outcome)
    assert outcome.figures["stored"] == outcome.figures["answers"] > 0


def test_a_review_server_killed_mid_save_loses_no_acknowledged_answer(tmp_path, reference):
    outcome = killed_review_server(tmp_path, reference.run_dir, posts=120)
    no_failures(outcome)
    assert outcome.figures["acknowledged"] >= 40
