"""Reliability under faults, shown with real processes (issue 18): ``python -m benchmarks.faults``.

    kill      kill -9 of ``insights run`` at random points of every stage and of the final publish;
              after each: the run folder absent or complete, the cache uncorrupted, then a rerun that
              must reuse the cached vectors and give the same tables as an uninterrupted run
    concurrent two runs at once: two folders on one cache; one run id with and without --force
    disk      the output (or the cache) folder on a tmpfs too small for the run (needs root)
    fuzz      hostile exports of every format through the real pipeline: no stack trace, rows accounted
    serve     ``insights serve`` under 1,000 requests from 20 clients (p99), and hostile requests
    review    two review servers appending to one labels.jsonl and editing one curation.yaml; a review
              server killed -9 while answers stream in

Prints a table, records it in RESULTS.json (section ``faults``) and renders RESULTS.md. Exit status 1
when any trial failed. Scenario code: benchmarks/faults_runs.py, faults_fuzz.py, faults_serve.py; the
same scenarios, smaller, are the tests in tests/faults (part of ``make test``).
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmarks.faults_common import Outcome

log = logging.getLogger("benchmarks.faults")
HERE = Path(__file__).resolve().parent
SECTION = "faults"
SCENARIOS = ("kill", "concurrent", "disk", "fuzz", "serve", "review")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(SCENARIOS), help=f"comma-separated subset of {SCENARIOS}")
    parser.add_argument("--kills", type=int, default=22, help="kill -9s in all (2 per stage and publish step)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the three two-runs-at-once cases")
    parser.add_argument("--fuzz-files", type=int, default=520, help="fuzzed exports to generate and run")
    parser.add_argument("--requests", type=int, default=1000, help="requests of the serve load test")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients of the serve load test")
    parser.add_argument("--answers", type=int, default=400, help="answers each review server receives")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=HERE, help="folder of RESULTS.json / RESULTS.md")
    parser.add_argument("--no-record", action="store_true", help="print the table only")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (crashing fuzz files)")
    return parser.parse_args(argv)


def table(outcomes: list[Outcome]) -> str:
    """The plain-text table printed at the end."""
    rows = [("scenario", "trials", "failures", "figures")]
    for o in outcomes:
        figures = ", ".join(f"{k} {v}" for k, v in o.figures.items())
        rows.append((o.scenario, str(o.trials), str(len(o.failures)), figures))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]}" for r in rows]
    lines.insert(1, "-" * max(len(line) for line in lines))
    return "\n".join(lines)


def records(outcomes: list[Outcome], seconds: dict[str, float], work: Path) -> list[dict[str, Any]]:
    """Two records per scenario (failures; p99 for the load test): trials in ``rows``, the other figures as
    one readable ``config`` string, so RESULTS.md's generic table stays a few columns wide."""
    from benchmarks.quality import machine_label, versions

    common = {
        "section": SECTION,
        "system": "ours",
        "date": datetime.now(timezone.utc).date().isoformat(),
        "machine": machine_label(),
        "versions": versions(),
    }
    out: list[dict[str, Any]] = []
    for o in outcomes:
        notes = [f"{o.scenario}: `{o.command}`, {seconds.get(o.scenario, 0):.0f} s on a shared 2-core machine"]
        notes += [f"{o.scenario}: {n}".replace(str(work), "<tmp>") for n in o.notes[:3]]
        notes += [f"{o.scenario}: FAILED {f}".replace(str(work), "<tmp>") for f in o.failures[:5]]
        figures = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in o.figures.items() if k != "p99_ms")
        base = {**common, "dataset": o.scenario, "rows": o.trials, "config": figures or None, "notes": notes}
        out.append({**base, "metric": "failures", "value": len(o.failures)})
        if "p99_ms" in o.figures:
            out.append({**base, "metric": "p99_ms", "value": o.figures["p99_ms"]})
    return out


def _guarded(name: str, step: Callable[[], Outcome]) -> Outcome:
    """Run one scenario; a scenario that itself breaks (e.g. on a folder it could not read) is a failure."""
    try:
        return step()
    except Exception as exc:
        log.exception("scenario %s broke", name)
        return Outcome(name, failures=[f"the scenario broke: {type(exc).__name__}: {exc}"])


def main(argv: Sequence[str] | None = None) -> int:
    from benchmarks._setup import start_benchmark

    args = parse_args(argv)
    start_benchmark(quiet=True)
    wanted = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(wanted) - set(SCENARIOS))
    if unknown:
        print(f"error: --only {unknown}: not among {SCENARIOS}", file=sys.stderr)
        return 2
    from benchmarks import faults_fuzz, faults_runs, faults_serve

    work = Path(tempfile.mkdtemp(prefix="insights-faults-"))
    outcomes: list[Outcome] = []
    seconds: dict[str, float] = {}
    try:
        ref = faults_runs.reference_run(work / "reference")
        plan: dict[str, Callable[[], Outcome]] = {
            "kill": lambda: faults_runs.kill_trials(work, ref, kills=args.kills, seed=args.seed),
            "concurrent": lambda: faults_runs.concurrent_runs(work, ref, rounds=args.rounds),
            "disk": lambda: faults_runs.disk_full(work, ref),
            "fuzz": lambda: faults_fuzz.fuzz(work, files=args.fuzz_files, seed=args.seed),
            "serve": lambda: faults_serve.load(ref.run_dir, requests=args.requests, clients=args.clients),
            "review": lambda: faults_serve.two_review_servers(work, ref.run_dir, answers_per_server=args.answers),
        }
        for name in wanted:
            print(f"running {name} ...", file=sys.stderr, flush=True)
            t0 = time.perf_counter()
            steps = [plan[name]]
            if name == "serve":
                steps.append(lambda: faults_serve.abuse(ref.run_dir))
            if name == "review":
                steps.append(lambda: faults_serve.killed_review_server(work, ref.run_dir))
            found = [_guarded(name, step) for step in steps]
            for o in found:
                seconds[o.scenario] = time.perf_counter() - t0
                print(f"  {o.scenario}: {o.trials} trials, {len(o.failures)} failures", file=sys.stderr, flush=True)
                for failure in o.failures:
                    print(f"    FAILED {failure}", file=sys.stderr)
            outcomes += found
    finally:
        if args.keep:
            print(f"scratch folder kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(table(outcomes))
    for o in outcomes:
        for note in o.notes[:3]:
            print(f"  {o.scenario}: {note[:200]}")
    if not args.no_record:
        from benchmarks.report import load_records, write_results

        path = args.out / "RESULTS.json"
        done = {o.scenario for o in outcomes}
        kept = [r for r in load_records(path) if not (r.get("section") == SECTION and r.get("dataset") in done)]
        write_results(args.out, kept + records(outcomes, seconds, work))
        print(f"recorded in {path} and {args.out / 'RESULTS.md'}")
    return 1 if any(o.failures for o in outcomes) else 0


if __name__ == "__main__":
    raise SystemExit(main())
