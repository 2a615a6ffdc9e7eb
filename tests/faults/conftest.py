"""The fault suite's small default subset (the full one: ``make faults``): real processes on the sample.

Every test here carries the ``faults`` mark (``-m "not faults"`` leaves them out); they share one
uninterrupted reference run. The scenarios themselves live in benchmarks/faults_*.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.faults_runs import Reference, reference_run

HERE = Path(__file__).parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "faults: fault-injection scenarios with real processes (tests/faults)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.faults)


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """One uninterrupted fast run of the sample, with its cache: what every faulted run must match."""
    return reference_run(tmp_path_factory.mktemp("faults-reference"))
