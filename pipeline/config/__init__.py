"""One typed configuration for a run: defaults here, a TOML file over them, CLI flags over that.

Every sub-config matches one stage. Unknown keys are rejected with the valid list, so a typo in
``run.toml`` fails loudly instead of being ignored.

What lives where (import every name from ``pipeline.config``):

- :mod:`~pipeline.config.text_stages`: the ingest, clean and embed sections.
- :mod:`~pipeline.config.theme_stages`: the reduce, cluster, represent, classify, trends and summarize sections.
- :mod:`~pipeline.config.section`: their frozen, extra-forbidding base.
- here: the run-level sections (scale, output), :class:`RunConfig`, TOML loading and ``--set`` overrides.

Below every stage: these modules import pydantic and :mod:`pipeline.errors`, nothing else of the pipeline.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError

from pipeline.config.section import _Section
from pipeline.config.text_stages import DEFAULT_EMBEDDING_MODEL as DEFAULT_EMBEDDING_MODEL
from pipeline.config.text_stages import DEFAULT_SPACY_MODEL as DEFAULT_SPACY_MODEL
from pipeline.config.text_stages import CleanConfig, EmbedConfig, IngestConfig
from pipeline.config.theme_stages import (
    ClassifyConfig,
    ClusterConfig,
    ReduceConfig,
    RepresentConfig,
    SummarizeConfig,
    TrendsConfig,
)
from pipeline.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "ClassifyConfig",
    "CleanConfig",
    "ClusterConfig",
    "EmbedConfig",
    "IngestConfig",
    "OutputConfig",
    "ReduceConfig",
    "RepresentConfig",
    "RunConfig",
    "ScaleConfig",
    "SummarizeConfig",
    "TrendsConfig",
    "load_config",
    "parse_overrides",
]


class ScaleConfig(_Section):
    """Large exports: fit on a sample and assign the rest; which engine runs the job."""

    engine: Literal["local", "spark"] = Field(
        default="local", description="'local': this process; 'spark': a Spark session (pip install pyspark)."
    )
    spark_master: str = Field(default="local[*]", description="Spark master URL for --engine spark.")
    spark_driver_memory: str = Field(
        default="2g",
        pattern=r"^[0-9]+[kmgt]?$",
        description="JVM heap of the Spark driver when this process starts it (in local mode it also runs the tasks).",
    )
    sample_size: int | None = Field(
        default=20_000,
        ge=100,
        description="Above this many distinct texts, reduce, cluster and represent are fitted on a stratified "
        "random sample of this many (by time bin) and every other text is assigned to the nearest theme "
        "centroid; None: always fit on every text. 20,000 (was 50,000, whose UMAP took 253-304 s of a 100k run "
        "on 2 cores): above BANKING77's 13,083 distinct texts, so its quality figures fit on every text, and "
        "within reduce.EXACT_KNN_MAX, so the kNN graph is exact and pynndescent never compiles.",
    )
    assign_threshold: float = Field(
        default=0.3,
        ge=-1.0,
        le=1.0,
        description="Lowest cosine to a theme centroid that joins the theme. 0.3 with quantile 0 was best of "
        "t in 0.3-0.6 x q in 0-0.1 on BANKING77 train (benchmarks/scale.py --assign-compare).",
    )
    assign_member_quantile: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="A theme's own floor: the cosine to its centroid that this share of its fitted members "
        "fall below (0: its least similar member; never under assign_threshold).",
    )
    batch_size: int = Field(default=50_000, ge=1000, description="Texts per batch when assigning and embedding.")
    memmap_min_texts: int = Field(
        default=50_000,
        ge=0,
        description="From this many distinct texts on, embeddings stream to a memory-mapped file, not RAM.",
    )


class OutputConfig(_Section):
    """Where a run's artifacts go."""

    out_dir: Path = Path("outputs")
    run_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
    force: bool = Field(default=False, description="Overwrite an existing run directory.")
    write_report: bool = True


class RunConfig(_Section):
    """The whole resolved configuration of a run; written into every manifest."""

    seed: int = 42
    ingest: IngestConfig = IngestConfig()
    clean: CleanConfig = CleanConfig()
    embed: EmbedConfig = EmbedConfig()
    reduce: ReduceConfig = ReduceConfig()
    cluster: ClusterConfig = ClusterConfig()
    represent: RepresentConfig = RepresentConfig()
    classify: ClassifyConfig = ClassifyConfig()
    trends: TrendsConfig = TrendsConfig()
    summarize: SummarizeConfig = SummarizeConfig()
    scale: ScaleConfig = ScaleConfig()
    output: OutputConfig = OutputConfig()

    def with_overrides(self, overrides: dict[str, Any]) -> RunConfig:
        """Return a copy with dotted keys (``"cluster.min_cluster_size"``) replaced."""
        data = self.model_dump()
        for dotted, value in overrides.items():
            node = data
            *parents, leaf = dotted.split(".")
            for part in parents:
                if not isinstance(node.get(part), dict):
                    raise ConfigError(f"Unknown config section {part!r} in {dotted!r}.")
                node = node[part]
            if leaf not in node:
                valid = ", ".join(sorted(node))
                raise ConfigError(f"Unknown config key {dotted!r}; valid keys here: {valid}.")
            node[leaf] = value
        return _validate(data, source="overrides")


def _validate(data: dict[str, Any], *, source: str) -> RunConfig:
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        got = first.get("input")
        raise ConfigError(f"{source}: invalid config at {loc!r}: {first['msg']} (got {got!r}).") from None


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> RunConfig:
    """Build the run config from defaults, an optional TOML file and dotted-key overrides."""
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found.")
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}.") from None
    config = _validate(data, source=str(path) if path else "config")
    clean_overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    return config.with_overrides(clean_overrides) if clean_overrides else config


def parse_overrides(items: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """``["cluster.min_cluster_size=20"]`` → ``{"cluster.min_cluster_size": 20}``.

    Values are read as TOML literals (numbers, booleans, quoted strings, lists); anything else is
    kept as a plain string. Used by the CLI's ``--set`` and by the benchmarks.
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects KEY=VALUE (e.g. cluster.min_cluster_size=20); got {item!r}.")
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        out[key.strip()] = value
    return out
