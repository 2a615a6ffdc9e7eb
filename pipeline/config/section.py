"""The base of every config section: frozen, and unknown keys rejected (a typo in ``run.toml`` fails loudly)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
