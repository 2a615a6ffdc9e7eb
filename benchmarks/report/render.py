"""RESULTS.md from every record: the key figures first, then each section; written atomically."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from benchmarks.report.figures import (
    HOOK_SECTIONS,
    QUALITY,
    RUN_INFO,
    SPEED,
    config_label,
    fmt,
)
from benchmarks.report.other_sections import (
    generic_section,
    review_loop_section,
    taxonomy_section,
)
from benchmarks.report.speed import (
    speed_section,
    speed_tables,
)
from benchmarks.report.theme_quality import (
    QUALITY_OPPONENT,
    mean_group,
    quality_groups,
    quality_section,
    themes_cell,
)

__all__ = [
    "render",
    "write_atomic",
    "write_results",
]


def _key_figures(records: list[dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    quality = [r for r in records if r.get("section") == QUALITY and r.get("metric") != RUN_INFO]
    for dataset in dict.fromkeys(r["dataset"] for r in quality):
        groups = quality_groups([r for r in quality if r["dataset"] == dataset])
        for system in ("ours", "ours+reassign"):
            config, got = mean_group(groups, system)
            their_config, theirs = mean_group(groups, QUALITY_OPPONENT[system])
            if not got:
                continue
            line = (
                f"- {dataset}, **{system}**{config_label(config)}: {themes_cell(got.get('n_themes'))} themes, "
                f"{fmt(got.get('outlier_share'), 'share')} outliers, NMI {got.get('nmi', 0):.3f}, "
                f"ARI {got.get('ari', 0):.3f}, ACC {got.get('acc', 0):.3f}"
            )
            if theirs:
                line += (
                    f" — {QUALITY_OPPONENT[system]}{config_label(their_config)}: {themes_cell(theirs.get('n_themes'))} "
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
        lines.append(f"{line}{mine.where()}.")
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


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_results(out: Path, records: list[dict[str, Any]]) -> tuple[Path, Path]:
    """Write ``out/RESULTS.json`` (the merged records) and ``out/RESULTS.md`` rendered from them."""
    json_path, md_path = out / "RESULTS.json", out / "RESULTS.md"
    write_atomic(json_path, json.dumps(records, indent=1, ensure_ascii=False) + "\n")
    write_atomic(md_path, render(records))
    return json_path, md_path
