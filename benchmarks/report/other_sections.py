"""The ``taxonomy`` and ``review_loop`` sections, and a generic table for any other section."""

from __future__ import annotations

from typing import Any

from benchmarks.report.figures import (
    RUN_INFO,
    check_mark,
    fmt,
)

__all__ = [
    "TAXONOMY_BAR",
    "TAXONOMY_DEFAULT_CONFIG",
    "TAXONOMY_REFERENCE",
    "generic_section",
    "review_loop_section",
    "taxonomy_section",
]


#: Floors for the taxonomy figures (issue 17; issue 4's were 0.65 and 0.30) and references
#: (../shared/datasets/REFERENCE_NUMBERS.md).
TAXONOMY_BAR = {"ailuminate_demo": 0.75, "davidson_hate_offensive": 0.60}
#: The ``config`` of the taxonomy records measured with the default config; a run with ``--set`` is
#: recorded under its settings and shown on a line of its own, never in the default's table.
TAXONOMY_DEFAULT_CONFIG = "embedding prototypes (offline default)"


TAXONOMY_REFERENCE = {
    "ailuminate_demo": "0.63: MiniLM, one plain sentence per label, argmax cosine (issue 4)",
    "davidson_hate_offensive": "0.552: NLI-only DeBERTa-v3-base zero-shot (published); 0.30: MiniLM, one "
    "sentence per label (issue 4)",
}


def taxonomy_section(records: list[dict[str, Any]]) -> list[str]:
    """Macro-F1 per dataset and split against the bar, per-category scores, and throughput (default config);
    one line per other config."""
    measured = [r for r in records if r.get("metric") != RUN_INFO]
    recs = [r for r in measured if r.get("config") in (None, TAXONOMY_DEFAULT_CONFIG)]
    options = [r for r in measured if r.get("config") not in (None, TAXONOMY_DEFAULT_CONFIG)]
    if not recs:
        return ["## Taxonomy mapping", "", *_taxonomy_option_lines(options), ""]
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
        mark = f"≥ {bar} {check_mark(got['macro_f1'] >= bar)}" if bar is not None else ""
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
    return [*lines, "", *(f"- {n}" for n in notes), *_taxonomy_option_lines(options), ""]


def _taxonomy_option_lines(records: list[dict[str, Any]]) -> list[str]:
    """The test-half figures of each config other than the default, one line each."""
    lines = []
    for config in dict.fromkeys(str(r["config"]) for r in records):
        got = {
            (r["dataset"], r["metric"]): r["value"]
            for r in records
            if r["config"] == config and r.get("split") == "test" and r.get("category") is None
        }
        first = next(r for r in records if r["config"] == config)
        parts = [
            f"AILuminate macro-F1 {got[('ailuminate_demo', 'macro_f1')]:.3f}"
            if ("ailuminate_demo", "macro_f1") in got
            else None,
            f"Unmapped {fmt(got[('ailuminate_demo', 'unmapped_or_uncoded_share')], 'share')}"
            if ("ailuminate_demo", "unmapped_or_uncoded_share") in got
            else None,
            f"Davidson macro-F1 {got[('davidson_hate_offensive', 'macro_f1')]:.3f}"
            if ("davidson_hate_offensive", "macro_f1") in got
            else None,
            *(
                f"{dataset} false-safety-flag rate {fmt(value, 'share')}"
                for (dataset, metric), value in got.items()
                if metric == "false_safety_flag_rate"
            ),
        ]
        lines.append(
            f"- With `{config}` ({first.get('date')}, {first.get('machine')}), test halves: "
            + ", ".join(p for p in parts if p)
            + "."
        )
    return lines


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
