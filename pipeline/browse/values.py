"""JSON-ready values for the browse views: numpy and pandas scalars unwrapped, text cut, times stamped.

The report and the server both send these values to the same script, so one place decides how a
NaN, a timestamp or an over-long verbatim looks.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["cut_text", "py_value", "stamp_text"]


def py_value(value: Any) -> Any:
    """A JSON-ready Python value: numpy scalars unwrapped, NaN/NaT as None, timestamps as ISO text."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        stamp = pd.Timestamp(value)
        return None if pd.isna(stamp) else stamp.isoformat()
    if isinstance(value, (list, tuple, np.ndarray)):
        return [py_value(v) for v in value]
    return value


def cut_text(text: Any, limit: int) -> str:
    text = "" if text is None or (isinstance(text, float) and math.isnan(text)) else str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def stamp_text(value: Any) -> str | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M")
