"""Feedback Insights: user-feedback exports in, ranked, taxonomy-ready themes out.

    >>> from pipeline import run
    >>> result = run("export.csv", overrides={"ingest.text_col": "comment"})
    >>> result.themes.head()        # ranked themes, one row each
    >>> result.feedback.head()      # every input row: theme, outlier or excluded with a reason

``run`` and ``RunResult`` are imported on first use, so ``insights --help`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.config import RunConfig, load_config
from pipeline.errors import ConfigError, InputError, InsightsError, ModelError

if TYPE_CHECKING:
    from pipeline.runner import RunResult, run

__version__ = "0.2.0"

__all__ = [
    "ConfigError",
    "InputError",
    "InsightsError",
    "ModelError",
    "RunConfig",
    "RunResult",
    "__version__",
    "load_config",
    "run",
]


def __getattr__(name: str) -> Any:
    if name in {"run", "RunResult"}:
        import importlib

        module = importlib.import_module("pipeline.runner")
        globals().update(run=module.run, RunResult=module.RunResult)
        return globals()[name]
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
