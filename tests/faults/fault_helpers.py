"""Assertions shared by the fault tests."""

from __future__ import annotations

from benchmarks.faults_common import Outcome


def no_failures(outcome: Outcome) -> None:
    """Every trial of the scenario passed; otherwise the message lists each failure."""
    assert outcome.failures == [], "\n".join(outcome.failures)
