"""Fault scenarios around ``insights run`` itself: kill -9 at random points, two runs at once, a full disk.

Each function takes a scratch folder and returns an :class:`Outcome`; nothing here asserts, so the
benchmark can print every failure and the tests (tests/faults) can assert there are none.
"""

from __future__ import annotations

import contextlib
import random
import re
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.faults_common import (
    RUN_ID,
    STAGES,
    Outcome,
    cache_entries,
    cache_problems,
    child_env,
    hidden_entries,
    message_lines,
    one_line_error,
    row_text_keys,
    run_command,
    run_dir_problems,
    run_matches,
    run_to_end,
)

_STAGE_LINE = re.compile(r"INFO\s+(?:\[\d+/\d+\]\s+)?(\w+): (started|done in)")
#: Kill targets: every stage, then the publishing step after the report stage (manifest + rename).
KILL_POINTS = (*STAGES, "commit")


@dataclass
class Reference:
    """An uninterrupted run: its folder, its cache's vectors, per-stage seconds and the row-text keys."""

    run_dir: Path
    vectors: dict[bytes, np.ndarray]
    seconds: dict[str, float]
    row_keys: set[bytes]


def reference_run(work: Path) -> Reference:
    proc = run_to_end(run_command(work / "cache", work / "out"))
    if proc.returncode != 0:
        raise RuntimeError(f"the reference run failed: {proc.stderr[-2000:]}")
    run_dir = work / "out" / RUN_ID
    import json

    stages = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))["stages"]
    vectors, problems = cache_entries(work / "cache")
    if problems:
        raise RuntimeError(f"the reference cache is broken: {problems}")
    return Reference(run_dir, vectors, {k: v["seconds"] for k, v in stages.items()}, row_text_keys())


def _died_in(lines: list[str], returncode: int) -> str:
    """Where the log says the process was when it died."""
    if returncode == 0:
        return "finished"
    marks = [m.groups() for m in map(_STAGE_LINE.search, lines) if m]
    if not marks:
        return "startup"
    name, what = marks[-1]
    if what == "started":
        return name
    return "commit" if name == "report" else f"between {name} and the next stage"


def kill_during(cmd: list[str], point: str, delay: float) -> tuple[str, list[str]]:
    """Start ``cmd``, SIGKILL it ``delay`` s after it logs the start of ``point``; where it died, its log."""
    trigger = "report: done" if point == "commit" else f"{point}: started"
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=child_env())
    assert proc.stderr is not None
    lines: list[str] = []
    killed = False
    for line in proc.stderr:
        lines.append(line)
        if not killed and trigger in line:
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            killed = True
    proc.wait()
    return _died_in(lines, proc.returncode), lines


def kill_trials(
    work: Path, ref: Reference, *, kills: int, seed: int = 0, points: Sequence[str] = KILL_POINTS
) -> Outcome:
    """``kills`` kill -9s, cycling over ``points`` (stages, 'commit'), each at a random moment within it;
    after each: the folder, the cache, then a rerun."""
    rng = random.Random(seed)
    out = Outcome("kill -9 mid-run", command="python -m benchmarks.faults --only kill")
    landed: Counter[str] = Counter()
    reused = fully_reused = 0
    for trial in range(kills):
        point = points[trial % len(points)]
        delay = rng.uniform(0.0, 1.0) * ref.seconds.get(point, 0.05)
        base = work / f"kill{trial}"
        cache, out_dir = base / "cache", base / "out"
        replacing = trial % 2 == 1  # every other trial overwrites a complete earlier run (--force)
        if replacing:
            shutil.copytree(ref.run_dir, out_dir / RUN_ID)
            (out_dir / RUN_ID / "OLD").write_text("the run that was there before", encoding="utf-8")
        died, _ = kill_during(run_command(cache, out_dir), point, delay)
        landed[died] += 1
        name = f"kill {trial} ({point}+{delay:.3f}s, died in {died})"
        final = out_dir / RUN_ID
        problems = run_dir_problems(final) if final.exists() else []
        if replacing and not final.exists():
            problems.append("the earlier run folder vanished")
        problems += cache_problems(cache, ref.vectors)
        cached_rows = len(ref.row_keys & set(cache_entries(cache)[0]))
        proc = run_to_end(run_command(cache, out_dir))
        if proc.returncode != 0:
            problems.append(f"rerun failed: {proc.stderr[-400:]!r}")
        else:
            problems += run_matches(ref.run_dir, final)
            problems += cache_problems(cache, ref.vectors)
            import json

            stats = json.loads((final / "manifest.json").read_text(encoding="utf-8"))["embedding_cache"]
            if stats["from_cache"] != cached_rows:
                problems.append(f"rerun took {stats['from_cache']} texts from the cache; {cached_rows} were there")
            reused += cached_rows > 0
            fully_reused += cached_rows == len(ref.row_keys)
            if hidden_entries(out_dir):
                problems.append(f"the rerun left {hidden_entries(out_dir)} in the output folder")
        out.fail(name, problems)
        out.trials += 1
        shutil.rmtree(base, ignore_errors=True)
    out.figures = {"kills": kills, "reruns_reusing_cache": reused, "reruns_fully_cached": fully_reused}
    out.notes.append("kills landed in: " + ", ".join(f"{k} {v}" for k, v in sorted(landed.items())))
    return out


def concurrent_runs(work: Path, ref: Reference, *, rounds: int = 1) -> Outcome:
    """Pairs of runs started together: two output folders on one cache; one run id with and without --force."""
    out = Outcome("two runs at once", command="python -m benchmarks.faults --only concurrent")
    codes_seen: dict[str, list[str]] = {}
    for r in range(rounds):
        for case in ("one cache, two folders", "same run id, --force", "same run id, no --force"):
            base = work / f"pair{r}-{case.split(',')[0].replace(' ', '')}{case.count('no')}"
            cache = base / "cache"
            force = "no --force" not in case
            dirs = [base / "out1", base / "out2"] if case.startswith("one cache") else [base / "out"] * 2
            procs = [
                subprocess.Popen(run_command(cache, d, force=force), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, env=child_env())
                for d in dirs
            ]  # fmt: skip
            done = [subprocess.CompletedProcess(p.args, 0, *p.communicate(timeout=300)) for p in procs]
            for proc, p in zip(done, procs, strict=True):
                proc.returncode = p.returncode
            problems: list[str] = []
            codes = sorted(p.returncode for p in done)
            if case.endswith("no --force"):
                if codes not in ([0, 0], [0, 2]):
                    problems.append(f"exit codes {codes}")
                problems += [x for p in done if p.returncode == 2 for x in one_line_error(p)]
            elif codes != [0, 0]:
                problems.append(f"exit codes {codes}: {[p.stderr[-300:] for p in done if p.returncode]}")
            for d in dict.fromkeys(dirs):
                if (d / RUN_ID).exists():
                    problems += run_matches(ref.run_dir, d / RUN_ID)
                else:
                    problems.append(f"{d.name}/{RUN_ID} missing")
                if hidden_entries(d):
                    problems.append(f"left {hidden_entries(d)} in {d.name}")
            problems += cache_problems(cache, ref.vectors)
            codes_seen[case] = [*codes_seen.get(case, []), ",".join(map(str, codes))]
            out.fail(f"round {r} {case}", problems)
            out.trials += 1
            shutil.rmtree(base, ignore_errors=True)
    out.figures = {"pairs": out.trials}
    out.notes.append("exit codes per pair: " + "; ".join(f"{k}: {' / '.join(v)}" for k, v in codes_seen.items()))
    return out


@contextlib.contextmanager
def small_disk(path: Path, size_kb: int) -> Iterator[Path]:
    """A tmpfs of ``size_kb`` mounted at ``path`` (needs root); unmounted afterwards."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(path)], check=True,
                   capture_output=True)  # fmt: skip
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


def can_mount(work: Path) -> bool:
    try:
        with small_disk(work / "probe", 64):
            return True
    except (subprocess.CalledProcessError, FileNotFoundError):
        return False


def disk_full(
    work: Path, ref: Reference, *, fractions: Sequence[float] = (0.08, 0.3, 0.6, 0.9), with_old: bool = True
) -> Outcome:
    """Runs whose output folder is a tmpfs of ``fractions`` of the run's size (and, ``with_old``, one
    holding a complete earlier run replaced with --force): a one-line error, no run folder; and a run
    whose cache is on a full tmpfs: it goes on without the cache."""
    out = Outcome("disk full (tmpfs)", command="python -m benchmarks.faults --only disk")
    if not can_mount(work):
        out.notes.append("skipped: cannot mount a tmpfs here (not root?)")
        return out
    total_kb = sum(p.stat().st_size for p in ref.run_dir.iterdir()) // 1024
    out.notes.append(f"the run folder is {total_kb} KB; tmpfs of {list(fractions)} of it, and a cache on a full one")
    cases: list[tuple[str, int, dict[str, Any]]] = [
        (f"out on {kb} KB", kb, {}) for kb in sorted({max(16, int(total_kb * f)) for f in fractions})
    ]
    if with_old:
        size = int(total_kb * 1.3)
        cases.append((f"--force over a complete run, out on {size} KB", size, {"old": 1}))
    cases.append(("cache on 64 KB", 64, {"cache_on_disk": 1}))
    clean_errors = without_cache = 0
    for name, kb, opts in cases:
        base = work / f"disk{out.trials}"
        mount = base / "mnt"
        with small_disk(mount, kb):
            cache = mount / "cache" if opts.get("cache_on_disk") else base / "cache"
            out_dir = base / "out" if opts.get("cache_on_disk") else mount / "out"
            if opts.get("old"):
                shutil.copytree(ref.run_dir, out_dir / RUN_ID)
            proc = run_to_end([*run_command(cache, out_dir), "-q"])
            if opts.get("cache_on_disk"):  # the cache only saves work: the run goes on without it
                problems = [f"exit {proc.returncode}: {message_line(proc)!r}"] if proc.returncode else []
                if "Embedding cache not written" not in proc.stderr:
                    problems.append("no warning that the cache was not written")
                if not problems:
                    problems += run_matches(ref.run_dir, out_dir / RUN_ID)
                problems += cache_problems(cache, ref.vectors)
                without_cache += not problems
                out.fail(name, problems)
                out.trials += 1
                out.notes.append(f"{name}: exit {proc.returncode}, " + next(
                    (ln.split("WARNING ")[-1][:140] for ln in proc.stderr.splitlines() if "cache not written" in ln), ""
                ))  # fmt: skip
                continue
            problems = one_line_error(proc)
            clean_errors += not problems
            if problems == [] and "space" not in message_line(proc):
                problems.append(f"the error does not say the disk is full: {message_line(proc)!r}")
            if opts.get("old"):
                problems += run_dir_problems(out_dir / RUN_ID)
            elif (out_dir / RUN_ID).exists():
                problems.append("a run folder was left")
            if hidden_entries(out_dir):
                problems.append(f"left {hidden_entries(out_dir)} in the output folder")
            if not opts.get("old"):  # a later run must not find a baseline there
                later = run_to_end([*run_command(base / "cache2", base / "later", run_id="next"),
                                    "--baseline", str(out_dir / RUN_ID), "-q"])  # fmt: skip
                problems += [f"later --baseline: {p}" for p in one_line_error(later)]
            problems += cache_problems(cache, ref.vectors)
        out.fail(name, problems)
        out.trials += 1
        out.notes.append(f"{name}: {message_line(proc)[:160]}")
        shutil.rmtree(base, ignore_errors=True)
    out.figures = {"runs": out.trials, "one_line_errors": clean_errors, "ran_on_without_cache": without_cache}
    return out


def message_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = message_lines(proc.stderr)
    return lines[0] if lines else ""
