"""Curation that persists: analysts' decisions about themes, kept in the run as ``curation.yaml``.

A person can rename a theme, merge themes, mark one not actionable, or set its taxonomy node. The
file is plain YAML so it can be read and edited by hand and reviewed in version control::

    version: 1
    themes:
      3: {label: Password reset emails never arrive, node: product.account_login}
      5: {merged_into: 3}
      8: {actionable: false}

The next run with ``--baseline`` honours it (:func:`carry_forward`): rows of merged themes share the
target's id (:func:`merge_labels`, before the themes are described), names, nodes and the
actionable flag are applied to the theme table (:func:`apply_curation`), and the reviewed rows of
the baseline become extra labeled examples for their taxonomy nodes, so the mapping learns from the
corrections. The curation and the examples are copied into the new run, so they keep accumulating.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.errors import InputError
from pipeline.store import write_csv, write_text

__all__ = [
    "CURATION_FILE",
    "EXAMPLES_FILE",
    "Carried",
    "Curation",
    "ThemeCuration",
    "apply_curation",
    "carry_forward",
    "curated_labels",
    "load_curation",
    "merge_labels",
    "reviewed_examples",
    "save_curation",
    "update_curation",
]

log = logging.getLogger(__name__)

CURATION_FILE = "curation.yaml"
#: Reviewed rows turned into labeled examples (columns text, node_id), accumulated across runs.
EXAMPLES_FILE = "review_examples.csv"
#: A theme marked not actionable ranks like the taxonomy's "not actionable" node.
NOT_ACTIONABLE_WEIGHT = 0.25
MAX_LABEL_CHARS = 120
_LOCK = threading.Lock()


class ThemeCuration(BaseModel):
    """What a person decided about one theme (every field optional)."""

    model_config = ConfigDict(extra="forbid")

    label: str | None = Field(default=None, min_length=1, max_length=MAX_LABEL_CHARS)
    merged_into: int | None = Field(default=None, ge=0)
    actionable: bool | None = None
    node: str | None = None


class Curation(BaseModel):
    """The whole file."""

    model_config = ConfigDict(extra="forbid")

    version: int = 1
    themes: dict[int, ThemeCuration] = Field(default_factory=dict)

    def merges(self) -> dict[int, int]:
        """Each merged theme id to its final target (chains followed; a cycle is refused on load)."""
        out: dict[int, int] = {}
        for tid in self.themes:
            seen = [tid]
            target = self.themes[tid].merged_into
            while target is not None:
                if target in seen:
                    raise InputError(f"{CURATION_FILE}: themes {seen} are merged into each other in a cycle.")
                seen.append(target)
                nxt = self.themes.get(target)
                if nxt is None or nxt.merged_into is None:
                    break
                target = nxt.merged_into
            if target is not None:
                out[tid] = target
        return out


def load_curation(path: str | Path, leaves: set[str] | None = None) -> Curation:
    """Read and validate ``curation.yaml``; an absent file is an empty curation."""
    path = Path(path)
    if not path.is_file():
        return Curation()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        curation = Curation.model_validate(data)
    except (yaml.YAMLError, ValidationError) as exc:
        raise InputError(f"{path}: not a valid curation file: {' '.join(str(exc).split())[:300]}") from None
    if leaves is not None:
        for tid, entry in curation.themes.items():
            if entry.node is not None and entry.node not in leaves:
                raise InputError(f"{path}: theme {tid} field 'node': {entry.node!r} is not a leaf of the taxonomy.")
    curation.merges()  # refuses cycles
    return curation


def save_curation(curation: Curation, path: str | Path) -> None:
    """Write the file atomically, themes in id order, unset fields left out."""
    data = curation.model_dump(exclude_none=True)
    data["themes"] = {tid: data["themes"][tid] for tid in sorted(data["themes"]) if data["themes"][tid]}
    header = "# Theme curation (insights review / insights serve). Edit by hand or in the review page.\n"
    write_text(header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True), Path(path))


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with _LOCK, open(path.with_name(f".{path.name}.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def update_curation(path: str | Path, action: dict[str, Any], theme_ids: set[int], leaves: set[str]) -> Curation:
    """Apply one action from the review page under a lock (read, change, atomic write); InputError if invalid.

    Actions: ``{"action": "rename", "theme_id": 3, "label": "..."}``, ``{"action": "merge", "theme_ids":
    [5, 7], "into": 3}``, ``{"action": "actionable", "theme_id": 8, "value": false}``, ``{"action": "node",
    "theme_id": 3, "node": "product.account_login"}`` (``null`` clears a field).
    """
    path = Path(path)

    def theme(value: Any, name: str = "theme_id") -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value not in theme_ids:
            raise InputError(f"{name!r}: no theme {str(value)[:40]!r} in this run.")
        return value

    kind = action.get("action")
    with _locked(path):
        curation = load_curation(path, leaves)
        if kind == "rename":
            label = action.get("label")
            if label is not None and (not isinstance(label, str) or not 0 < len(label.strip()) <= MAX_LABEL_CHARS):
                raise InputError(f"'label' must be 1-{MAX_LABEL_CHARS} characters; got {str(label)[:60]!r}.")
            tid = theme(action.get("theme_id"))
            entry = curation.themes.get(tid, ThemeCuration())
            curation.themes[tid] = entry.model_copy(update={"label": " ".join(label.split()) if label else None})
        elif kind == "merge":
            into = theme(action.get("into"), "into")
            ids = action.get("theme_ids")
            if not isinstance(ids, list) or not ids:
                raise InputError("'theme_ids' must be a non-empty list of theme ids.")
            for tid in (theme(t, "theme_ids") for t in ids):
                if tid == into:
                    raise InputError(f"theme {tid} cannot be merged into itself.")
                entry = curation.themes.get(tid, ThemeCuration())
                curation.themes[tid] = entry.model_copy(update={"merged_into": into})
        elif kind == "actionable":
            value = action.get("value")
            if not isinstance(value, bool):
                raise InputError(f"'value' must be true or false; got {str(value)[:40]!r}.")
            tid = theme(action.get("theme_id"))
            entry = curation.themes.get(tid, ThemeCuration())
            curation.themes[tid] = entry.model_copy(update={"actionable": None if value else False})
        elif kind == "node":
            node = action.get("node")
            if node is not None and node not in leaves:
                raise InputError(f"'node' must be a leaf of the taxonomy; got {str(node)[:60]!r}.")
            tid = theme(action.get("theme_id"))
            entry = curation.themes.get(tid, ThemeCuration())
            curation.themes[tid] = entry.model_copy(update={"node": node})
        else:
            raise InputError(f"'action' must be rename, merge, actionable or node; got {str(kind)[:40]!r}.")
        curation.merges()  # refuses a cycle before anything is written
        save_curation(curation, path)
    return curation


def reviewed_examples(run_dir: str | Path) -> pd.DataFrame:
    """The reviewed rows of a run as labeled examples: each item's majority node (ties and 'unmapped' left out)."""
    from pipeline.review.labels import UNMAPPED, LabelStore
    from pipeline.review.measures import _verdict
    from pipeline.review.sampling import review_dir

    items_path = review_dir(run_dir) / "items.parquet"
    if not items_path.is_file():
        return pd.DataFrame(columns=["text", "node_id"])
    items = pd.read_parquet(items_path).set_index("item_id")
    labels = LabelStore(run_dir).latest()
    records = []
    for item_id, group in labels.groupby("item_id"):
        node = _verdict(list(group["node"]))
        if node is None or node == UNMAPPED or item_id not in items.index:
            continue
        records.append({"text": str(items.loc[item_id, "text"]), "node_id": node})
    return pd.DataFrame(records, columns=["text", "node_id"])


@dataclass
class Carried:
    """What a run takes over from its baseline's review: the curation and the labeled examples."""

    curation: Curation = field(default_factory=Curation)
    examples: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["text", "node_id"]))
    new_examples: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            "curated_themes": len(self.curation.themes),
            "merges": {str(k): v for k, v in self.curation.merges().items()},
            "examples": len(self.examples),
            "examples_from_baseline_review": self.new_examples,
        }

    def write(self, folder: Path) -> None:
        """Copy forward into the new run's folder."""
        if self.curation.themes:
            save_curation(self.curation, folder / CURATION_FILE)
        if len(self.examples):
            write_csv(self.examples, folder / EXAMPLES_FILE)


def carry_forward(baseline_dir: str | Path, leaves: set[str]) -> Carried:
    """The baseline's curation, and its accumulated examples plus those from its own review."""
    baseline_dir = Path(baseline_dir)
    curation = load_curation(baseline_dir / CURATION_FILE, leaves)
    frames = []
    if (baseline_dir / EXAMPLES_FILE).is_file():
        frames.append(pd.read_csv(baseline_dir / EXAMPLES_FILE, dtype=str)[["text", "node_id"]])
    fresh = reviewed_examples(baseline_dir)
    frames.append(fresh)
    examples = pd.concat(frames, ignore_index=True).dropna()
    examples = examples[examples["node_id"].isin(leaves)].drop_duplicates(["text", "node_id"], keep="last")
    log.info(
        "Carried from %s: %d curated themes, %d labeled examples (%d from its review)",
        baseline_dir,
        len(curation.themes),
        len(examples),
        len(fresh),
    )
    return Carried(curation, examples.reset_index(drop=True), len(fresh))


def merge_labels(clustered: Any, curation: Curation) -> Any:
    """A Clustered whose labels follow the curation's merges (merged themes take the target's id)."""
    merges = curation.merges()
    if not merges:
        return clustered

    def remap(labels: np.ndarray) -> np.ndarray:
        out = labels.copy()
        for source, target in merges.items():
            out[labels == source] = target
        return out

    return replace(clustered, labels=remap(clustered.labels), reassigned=remap(clustered.reassigned))


def curated_labels(curation: Curation | None) -> list[str]:
    """The names people gave themes: generated labels avoid them, so a curated name stays one theme's."""
    if curation is None:
        return []
    return [entry.label for entry in curation.themes.values() if entry.label]


def apply_curation(themes: pd.DataFrame, curation: Curation, taxonomy: Any = None, weights: Any = None) -> pd.DataFrame:
    """Curated names, nodes and actionable flags on the ranked theme table, re-ranked.

    Adds ``curated`` (which fields a person set) and ``actionable``; a node set by a person replaces
    the classifier's (confidence 1.0); a theme that is not actionable gets ``severity_weight``
    0.25, and the priority and rank are recomputed with the run's formula.
    """
    out = themes.copy()
    out["actionable"] = True
    out["curated"] = [[] for _ in range(len(out))]
    if not curation.themes or out.empty:
        return out
    for pos, tid in enumerate(out["theme_id"].astype(int)):
        entry = curation.themes.get(tid)
        if entry is None:
            continue
        done: list[str] = []
        if entry.label:
            out.iat[pos, out.columns.get_loc("label")] = entry.label
            done.append("label")
        if entry.node and taxonomy is not None:
            node = taxonomy.node(entry.node)
            for col, value in (
                ("category_id", node.id),
                ("category", node.name),
                ("branch", taxonomy.branch_of(node.id)),
                ("severity", node.severity or "none"),
                ("category_confidence", 1.0),
            ):
                if col in out:
                    out.iat[pos, out.columns.get_loc(col)] = value
            if "severity_weight" in out and weights is not None:
                weight = node.rank_weight if node.rank_weight is not None else weights.get(node.severity or "none", 1.0)
                out.iat[pos, out.columns.get_loc("severity_weight")] = float(weight)
            done.append("node")
        if entry.actionable is False:
            out.iat[pos, out.columns.get_loc("actionable")] = False
            if "severity_weight" in out:
                out.iat[pos, out.columns.get_loc("severity_weight")] = NOT_ACTIONABLE_WEIGHT
            done.append("actionable")
        out.at[out.index[pos], "curated"] = done
    if {"priority", "volume_score", "severity_weight", "trend_weight", "rank"} <= set(out.columns):
        out["priority"] = out["volume_score"] * out["severity_weight"] * out["trend_weight"]
        out = out.sort_values(["priority", "size", "theme_id"], ascending=[False, False, True], kind="stable")
        out = out.reset_index(drop=True)
        out["rank"] = np.arange(1, len(out) + 1)
    return out
