"""The config sections of the theme stages: reduce, cluster, represent, classify, trends and summarize."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from pipeline.config.section import _Section


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
        description="Optional text2text or chat model (a local directory or a Hugging Face id; with "
        "HF_HUB_OFFLINE=1 only one already in the local cache) that proposes each theme's label; none by default.",
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
