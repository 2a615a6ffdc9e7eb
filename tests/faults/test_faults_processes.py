"""kill -9, two runs at once and a full disk, with real ``insights run`` processes (a few trials each)."""

from __future__ import annotations

import pytest

from benchmarks.faults_runs import can_mount, concurrent_runs, disk_full, kill_trials
from faults.fault_helpers import no_failures


def test_kill_9_in_embed_report_and_publish_leaves_no_broken_folder_or_cache(tmp_path, reference):
    outcome = kill_trials(tmp_path, reference, kills=3, seed=1, points=("embed", "report", "commit"))
    no_failures(outcome)
    assert outcome.trials == 3
    assert outcome.figures["reruns_reusing_cache"] >= 2  # killed after the embed stage wrote its shards


def test_two_runs_at_once_share_a_cache_and_a_run_id_without_harm(tmp_path, reference):
    outcome = concurrent_runs(tmp_path, reference, rounds=1)
    no_failures(outcome)
    assert outcome.trials == 3


def test_a_full_disk_is_a_one_line_error_and_leaves_no_run_folder(tmp_path, reference):
    if not can_mount(tmp_path):
        pytest.skip("mounting a tmpfs needs root")
    outcome = disk_full(tmp_path, reference, fractions=(0.3,), with_old=False)
    no_failures(outcome)
    assert outcome.trials == 2  # output on a small disk, cache on a full one
