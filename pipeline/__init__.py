"""Feedback Insights: user-feedback exports in, ranked, taxonomy-ready themes out.

>>> from pipeline import run
>>> result = run("export.csv", overrides={"ingest.text_col": "comment"})
>>> result.themes.head()        # ranked themes, one row each
>>> result.feedback.head()      # every input row: theme, outlier or excluded with a reason
"""

__version__ = "0.1.0"

from pipeline.config import RunConfig, load_config
from pipeline.errors import ConfigError, InputError, InsightsError, ModelError
from pipeline.run import RunResult, run

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
