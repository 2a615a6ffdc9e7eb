"""Feedback Insights: user-feedback exports in, ranked, taxonomy-ready themes out.

    >>> from pipeline import run
    >>> result = run("export.csv", overrides={"ingest.text_col": "comment"})
    >>> result.themes.head()        # ranked themes, one row each
    >>> result.feedback.head()      # every input row: theme, outlier or excluded with a reason

``run`` and ``RunResult`` are imported on first use, so ``insights --help`` stays fast.

What lives here, in the direction the data flows (``tests/unit/test_import_direction.py`` checks it):

* the stages, one module or package each: ``ingest``, ``clean``, ``embed``, ``reduce``, ``cluster``,
  ``represent``, ``classify`` (with ``taxonomy``), ``trends``, ``summarize``, ``report``, plus the helpers
  they share (``config``, ``errors``, ``schemas``, ``store``, ``assign``, ``baseline``). A stage may import
  :mod:`models`, the shared helpers and another stage's public names, never the layers below;
* :mod:`pipeline.plan` (the stage order), :mod:`pipeline.engines` (the steps that run it locally or on
  Spark), :mod:`pipeline.manifest`, :mod:`pipeline.rundir` and :mod:`pipeline.result`;
* :mod:`pipeline.runner` (loads the models, picks the engine) and :mod:`pipeline.cli` on top;
* :mod:`pipeline.review` and :mod:`pipeline.browse`: the analyst loop and the report/server views.
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
