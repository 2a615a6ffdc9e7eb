"""The ``insights`` command line: thin wrappers over :func:`pipeline.run`.

Exit codes: 0 success, 2 usage or input error (one line on stderr naming file, row, column),
1 internal error (one line; ``--debug`` shows the traceback).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from pipeline.config import parse_overrides
from pipeline.errors import EXIT_INPUT, EXIT_INTERNAL, InsightsError, storage_problem

__all__ = ["app", "main"]

app = typer.Typer(
    help="Feedback Insights: turn feedback exports into ranked themes with verbatims.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
log = logging.getLogger("pipeline")


@app.callback()
def _root() -> None:
    """Feedback Insights: turn feedback exports into ranked themes with verbatims."""


def _one_line(exc: BaseException) -> str:
    """An exception's message on one line (library messages may span several)."""
    return " ".join(line.strip() for line in str(exc).splitlines() if line.strip())


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    for name in ("pipeline", "models"):
        logging.getLogger(name).setLevel(level)


@app.command("run")
def run_command(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Feedback exports: .csv .tsv .jsonl .json .parquet .xlsx (with --engine spark: also "
            "folders of them, or a table name)"
        ),
    ],
    config: Annotated[Path | None, typer.Option("--config", "-c", help="TOML config file.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Parent directory of run folders.")] = None,
    run_id: Annotated[str | None, typer.Option(help="Name of the run folder (default: time + hash).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing run folder.")] = False,
    text_col: Annotated[str | None, typer.Option(help="Column holding the feedback text.")] = None,
    id_col: Annotated[str | None, typer.Option(help="Column holding a unique row id.")] = None,
    time_col: Annotated[str | None, typer.Option(help="Column holding the timestamp.")] = None,
    meta_cols: Annotated[
        str | None, typer.Option(help="Comma-separated metadata columns to keep (default: all others).")
    ] = None,
    sheet: Annotated[str | None, typer.Option(help="XLSX sheet name or 0-based index.")] = None,
    embedding_model: Annotated[
        str | None, typer.Option(help="'default', a Hugging Face id or a local path, or 'hashing'.")
    ] = None,
    min_cluster_size: Annotated[int | None, typer.Option(help="HDBSCAN min_cluster_size (default: from size).")] = None,
    reducer: Annotated[str | None, typer.Option(help="'umap' (default) or 'pca'.")] = None,
    taxonomy: Annotated[
        Path | None, typer.Option(help="Taxonomy YAML (default: the shipped trust & safety / search one).")
    ] = None,
    baseline: Annotated[
        Path | None,
        typer.Option(help="A previous run folder: its themes keep their ids and its alerts continue."),
    ] = None,
    nli_model: Annotated[
        str | None, typer.Option(help="NLI model (directory or Hugging Face id) to re-score the taxonomy shortlist.")
    ] = None,
    engine: Annotated[
        str | None, typer.Option(help="'local' (default: this process) or 'spark' (pyspark; see docs/spark.md).")
    ] = None,
    master: Annotated[str | None, typer.Option(help="Spark master URL with --engine spark (default local[*]).")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (default 42).")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not use the on-disk caches.")] = False,
    cache_dir: Annotated[Path | None, typer.Option(help="Embedding cache directory.")] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Any config key, e.g. --set cluster.reassign_threshold=0.6")
    ] = None,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More logging (-vv: debug).")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only warnings and the summary.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of internal errors.")] = False,
) -> None:
    """Run the whole pipeline on one or more exports and write tables and a report."""
    _setup_logging(verbose, quiet)
    try:
        from pipeline import run

        overrides: dict[str, Any] = {
            "ingest.text_col": text_col,
            "ingest.id_col": id_col,
            "ingest.time_col": time_col,
            "ingest.meta_cols": [c.strip() for c in meta_cols.split(",") if c.strip()] if meta_cols else None,
            "ingest.sheet": (int(sheet) if sheet.isdigit() else sheet) if sheet else None,
            "embed.model": embedding_model,
            "embed.cache_dir": str(cache_dir) if cache_dir else None,
            "embed.use_cache": False if no_cache else None,
            "clean.use_cache": False if no_cache else None,
            "reduce.use_cache": False if no_cache else None,
            "cluster.min_cluster_size": min_cluster_size,
            "reduce.method": reducer,
            "classify.taxonomy": str(taxonomy) if taxonomy else None,
            "classify.nli_model": nli_model,
            "trends.baseline": str(baseline) if baseline else None,
            "scale.engine": engine,
            "scale.spark_master": master,
            "seed": seed,
            "output.out_dir": str(out) if out else None,
            "output.run_id": run_id,
            "output.force": True if force else None,
            **parse_overrides(set_ or []),
        }
        from pipeline.config import load_config

        resolved = load_config(config, overrides)
        result = run(files, resolved, show_progress=not quiet and sys.stderr.isatty())
    except InsightsError as exc:
        typer.echo(f"error: {_one_line(exc)}", err=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        typer.echo("interrupted: no run folder was written.", err=True)
        raise typer.Exit(130) from None
    except Exception as exc:
        problem = storage_problem(exc)
        if problem is not None and not debug:  # e.g. a full disk outside the run folder's own writes
            typer.echo(f"error: cannot write {getattr(exc, 'filename', None) or 'a file'}: {problem}.", err=True)
            raise typer.Exit(EXIT_INPUT) from None
        if debug:
            raise
        typer.echo(
            f"internal error: {type(exc).__name__}: {_one_line(exc)} (rerun with --debug for the traceback)", err=True
        )
        raise typer.Exit(EXIT_INTERNAL) from None
    typer.echo(result.summary(top_n=resolved.summarize.top_n))


@app.command("serve")
def serve_command(
    run_dir: Annotated[Path, typer.Argument(help="A run folder written by 'insights run' (outputs/<run-id>).")],
    host: Annotated[str, typer.Option(help="Address to bind; the default serves this machine only.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8765,
    reviewer: Annotated[
        str | None, typer.Option(help="Your name on the review page (/review); otherwise the page asks.")
    ] = None,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More logging (-vv: debug).")] = 0,
) -> None:
    """Browse a run in the web browser: themes, verbatims and full-text search over every row."""
    _setup_logging(verbose, quiet=False)
    try:
        from pipeline.browse.serve import UVICORN_OPTIONS, create_app

        app_ = create_app(run_dir, host=host, reviewer=reviewer)
    except InsightsError as exc:
        typer.echo(f"error: {_one_line(exc)}", err=True)
        raise typer.Exit(exc.exit_code) from None
    if host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(f"warning: serving on {host}: anyone who can reach this address can read the feedback.", err=True)
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"serving {run_dir} at http://{shown}:{port}/ (Ctrl+C to stop)")
    import uvicorn

    try:
        uvicorn.run(app_, host=host, port=port, log_level="warning", **UVICORN_OPTIONS)
    except OSError as exc:  # pragma: no cover - e.g. the port is taken
        typer.echo(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}; pick another --port.", err=True)
        raise typer.Exit(EXIT_INPUT) from None


@app.command("triage")
def triage_command(
    run_dir: Annotated[Path, typer.Argument(help="A run folder written by 'insights run' (outputs/<run-id>).")],
    top: Annotated[int, typer.Option(help="How many alerts to print.", min=1)] = 10,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print alerts.json as is (for scripts and webhooks).")
    ] = False,
) -> None:
    """Print a run's alerts, most urgent first, with counts, growth and verbatims."""
    import pandas as pd

    from pipeline.runner import alert_line

    path = run_dir / "alerts.parquet"
    if not path.is_file():
        typer.echo(f"error: {path}: not found; is {run_dir} a run folder written by 'insights run'?", err=True)
        raise typer.Exit(EXIT_INPUT)
    if as_json:
        typer.echo((run_dir / "alerts.json").read_text(encoding="utf-8").rstrip())
        return
    alerts = pd.read_parquet(path)
    if alerts.empty:
        typer.echo(f"no alerts in {run_dir} (see manifest.json 'trends' for the windows compared).")
        return
    typer.echo(f"{len(alerts)} alerts in {run_dir}, most urgent first:")
    for i, (_, alert) in enumerate(alerts.head(top).iterrows(), start=1):
        typer.echo(f"{i:>3}. {alert_line(alert)}")
        if len(alert["top_queries"]):
            typer.echo(f"     top queries: {', '.join(map(str, alert['top_queries']))}")
        for text in alert["verbatims"]:
            typer.echo(f"     > {' '.join(str(text).split())[:200]}")


@app.command("review")
def review_command(
    run_dir: Annotated[Path, typer.Argument(help="A run folder written by 'insights run' (outputs/<run-id>).")],
    size: Annotated[
        int, typer.Option(help="Items to draw (at least one per theme and per taxonomy node).", min=1)
    ] = 50,
    seed: Annotated[int, typer.Option(help="Random seed of the draw (stored with the set).")] = 0,
    query_col: Annotated[str | None, typer.Option(help="Search-query column (default: found by name).")] = None,
    result_col: Annotated[str | None, typer.Option(help="Search-result column (default: found by name).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Draw a new set even if the current one has answers.")] = False,
    measures: Annotated[
        bool, typer.Option("--measures", help="Do not draw: write and print the measures of the answers so far.")
    ] = False,
) -> None:
    """Draw a stratified review sample of a run (or measure the answers); review it in 'insights serve'."""
    _setup_logging(0, quiet=True)
    try:
        from pipeline.review.session import GUIDE_FILE, create_review, measure_review

        if measures:
            got = measure_review(run_dir)
            t = got.totals
            typer.echo(
                f"{t['rated_items']} of {t['items']} items rated, {t['answers']} answers by "
                f"{len(t['reviewers'])} reviewers; tables in {run_dir / 'review_measures'}"
            )
            for _, row in got.theme_precision.iterrows():
                if row["judged"]:
                    typer.echo(f"  theme {row['theme_id']} {row['label'][:50]}: precision {row['precision']:.2f}"
                               f" [{row['ci_low']:.2f}, {row['ci_high']:.2f}] over {row['judged']}")  # fmt: skip
            for _, row in got.agreement.iterrows():
                if row["items"]:
                    typer.echo(f"  agreement on {row['question']}: alpha {row['krippendorff_alpha']:.2f}"
                               f" over {row['items']} items")  # fmt: skip
            return
        review_set = create_review(
            run_dir, size=size, seed=seed, query_col=query_col, result_col=result_col, force=force
        )
    except InsightsError as exc:
        typer.echo(f"error: {_one_line(exc)}", err=True)
        raise typer.Exit(exc.exit_code) from None
    strata = review_set.info["strata"]
    typer.echo(
        f"review set: {len(review_set.items)} items (seed {seed}; {strata['node']} for taxonomy nodes, "
        f"{strata['theme']} for themes, {strata['weighted']} weighted to severity and low confidence)"
    )
    typer.echo(f"rater guide: {(run_dir / GUIDE_FILE).resolve().as_uri()}")
    typer.echo(f"review it: insights serve {run_dir} --reviewer YOUR_NAME  (then open http://127.0.0.1:8765/review)")


taxonomy_app = typer.Typer(help="Check and display taxonomy files.", no_args_is_help=True)
app.add_typer(taxonomy_app, name="taxonomy")


def _load_taxonomy_or_exit(file: Path | None) -> Any:
    from pipeline.taxonomy import load_taxonomy

    try:
        return load_taxonomy(file)
    except InsightsError as exc:
        typer.echo(f"error: {_one_line(exc)}", err=True)
        raise typer.Exit(exc.exit_code) from None


@taxonomy_app.command("validate")
def taxonomy_validate(
    file: Annotated[Path | None, typer.Argument(help="Taxonomy YAML; default: the shipped one.")] = None,
) -> None:
    """Check a taxonomy file; on a problem, print one line naming the node and field (exit 2)."""
    taxonomy = _load_taxonomy_or_exit(file)
    leaves = taxonomy.leaves
    examples = sum(len(n.examples) for n in leaves)
    typer.echo(
        f"ok: {taxonomy.source}: {taxonomy.id} {taxonomy.version}, {len(taxonomy.nodes)} nodes, "
        f"{len(leaves)} leaves, {examples} examples"
    )


@taxonomy_app.command("show")
def taxonomy_show(
    file: Annotated[Path | None, typer.Argument(help="Taxonomy YAML; default: the shipped one.")] = None,
    examples: Annotated[bool, typer.Option("--examples", help="Also list each leaf's example phrasings.")] = False,
) -> None:
    """Print the taxonomy as a tree: severity, name, id and crosswalk codes of every node."""
    taxonomy = _load_taxonomy_or_exit(file)
    typer.echo(f"{taxonomy.name} ({taxonomy.id} {taxonomy.version})")

    def depth(node_id: str) -> int:
        return len(taxonomy.path_of(node_id)) - 1

    children: dict[str | None, list[Any]] = {}
    for node in taxonomy.nodes:
        children.setdefault(node.parent, []).append(node)

    def walk(parent: str | None) -> None:
        for node in children.get(parent, []):
            indent = "  " * depth(node.id)
            severity = f"[{node.severity}] " if node.severity else ""
            codes = "; ".join(f"{k}: {', '.join(v)}" for k, v in node.crosswalk if v)
            typer.echo(f"{indent}{severity}{node.name} ({node.id}){'  — ' + codes if codes else ''}")
            if examples:
                for text in node.examples:
                    typer.echo(f"{indent}    · {text}")
            walk(node.id)

    walk(None)


@taxonomy_app.command("guide")
def taxonomy_guide(
    file: Annotated[Path | None, typer.Argument(help="Taxonomy YAML; default: the shipped one.")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the HTML page.")] = Path("rater_guide.html"),
) -> None:
    """Write the rater guide: every node's definition, what it is not, examples and severity, as one HTML page."""
    taxonomy = _load_taxonomy_or_exit(file)
    from pipeline.review.guide import rater_guide_html
    from pipeline.store import write_text

    write_text(rater_guide_html(taxonomy), out)
    typer.echo(f"wrote {out} ({len(taxonomy.leaves)} categories)")


@app.command("version")
def version_command() -> None:
    """Print the version of Feedback Insights."""
    from pipeline import __version__

    typer.echo(__version__)


def main() -> None:
    """Console-script entry point."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        app()
    except SystemExit as exc:
        # click reports usage errors with exit code 2 already; keep every other code as is
        raise SystemExit(exc.code if exc.code is not None else 0) from None
    except InsightsError as exc:  # pragma: no cover - raised outside a command
        typer.echo(f"error: {_one_line(exc)}", err=True)
        raise SystemExit(EXIT_INPUT) from None
