"""Per-partition functions: each runs on an executor over pandas frames (``mapInPandas``); models load
once per Python worker. They call the stage modules' own per-text functions, so both engines agree."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from pipeline.assign import assign as assign_texts
from pipeline.classify import label_texts
from pipeline.clean import (
    analyse_texts,
    canonical_key,
    capitalized_words,
    detect_languages,
    finish_text,
    late_exclusion,
    person_names,
    prepare_text,
)
from pipeline.config import RunConfig
from pipeline.engines.spark.read import local_path
from pipeline.ingest import ingest_frame
from pipeline.store import default_cache_dir

__all__ = [
    "analyse_partition",
    "embed_partition",
    "finish_partition",
    "ingest_partition",
    "label_partition",
    "late_partition",
    "row_partition",
    "words_partition",
    "worker_embedder",
]


# Each runs on an executor over pandas frames (mapInPandas); models load once per Python worker.

_WORKER_MODELS: dict[tuple[Any, ...], Any] = {}


def worker_embedder(config: RunConfig) -> Any:
    from models.embedding import make_embedder
    from pipeline.embed import CachedEmbedder
    from pipeline.store import EmbeddingCache

    key = ("embedder", config.embed.model, config.embed.backend, str(config.embed.cache_dir), config.embed.use_cache)
    if key not in _WORKER_MODELS:
        embedder = make_embedder(
            config.embed.model,
            batch_size=config.embed.batch_size,
            device=config.embed.device,
            backend=config.embed.backend,
            cache_dir=config.embed.cache_dir,
        )
        cache = None
        if config.embed.use_cache:
            cache = EmbeddingCache(default_cache_dir(config.embed.cache_dir), embedder.identity)
        _WORKER_MODELS[key] = CachedEmbedder(embedder, cache)
    return _WORKER_MODELS[key]


def ingest_partition(
    batches: Iterator[pd.DataFrame], config: RunConfig, names: dict[str, str], columns: list[str]
) -> Iterator[pd.DataFrame]:
    for batch in batches:
        for file, part in batch.groupby("_file", sort=False):
            part = part.sort_values("_order")
            records = part.drop(columns=["_file", "_order", "_source_row"])
            name = names.get(str(file), local_path(str(file)))
            rows = ingest_frame(
                records, config.ingest, name=name, source_rows=part["_source_row"].astype(int).tolist(),
                dedupe_ids=False,
            ).rows  # fmt: skip
            rows["_order"] = part["_order"].to_numpy()
            prepared: list[str | None] = [None] * len(rows)
            truncated = np.zeros(len(rows), bool)
            for i in np.flatnonzero(~rows["excluded"].to_numpy()):
                prepared[i], truncated[i] = prepare_text(rows["text"].iat[i], config.clean)
            rows["_prepared"] = pd.Series(prepared, dtype=object)
            rows["truncated"] = truncated
            yield rows[columns]


def words_partition(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    for batch in batches:
        words = [w for text in batch["_prepared"] for w in capitalized_words(str(text))]
        yield pd.DataFrame({"word": pd.Series(words, dtype=object)})


def analyse_partition(
    batches: Iterator[pd.DataFrame], config: RunConfig, common: frozenset[str]
) -> Iterator[pd.DataFrame]:
    for batch in batches:
        texts = batch["_prepared"].astype(str).tolist()
        terms, persons = analyse_texts(texts, config.clean, None, common)
        yield pd.DataFrame(
            {
                "_prepared": texts,
                "lemmas": [t[0] for t in terms],
                "phrases": [list(t[1]) for t in terms],
                "persons": [[{"start": a, "end": b, "name": n} for a, b, n in spans] for spans in persons],
                "names": [sorted(person_names(spans)) for spans in persons],
            }
        )


def finish_partition(batches: Iterator[pd.DataFrame], config: RunConfig, public: set[str]) -> Iterator[pd.DataFrame]:
    for batch in batches:
        texts = [
            finish_text(str(t), [(int(p["start"]), int(p["end"]), str(p["name"])) for p in spans], public)
            for t, spans in zip(batch["_prepared"], batch["persons"], strict=True)
        ]
        languages = detect_languages(texts) if config.clean.detect_language else [None] * len(texts)
        yield pd.DataFrame(
            {
                "_prepared": batch["_prepared"].to_numpy(),
                "clean_text": texts,
                "language": pd.Series(languages, dtype=object),
                "lemmas": batch["lemmas"].to_numpy(),
                "phrases": batch["phrases"].map(list).to_numpy(),
            }
        )


def late_partition(batches: Iterator[pd.DataFrame], config: RunConfig) -> Iterator[pd.DataFrame]:
    for batch in batches:
        excluded = batch["excluded"].to_numpy(copy=True)
        reasons = batch["exclusion_reason"].astype(object).where(batch["exclusion_reason"].notna(), None).tolist()
        keys: list[str | None] = [None] * len(batch)
        for i in np.flatnonzero(~excluded):
            reason = late_exclusion(batch["clean_text"].iat[i], batch["language"].iat[i], config.clean)
            if reason is not None:
                excluded[i], reasons[i] = True, reason
            else:
                keys[i] = canonical_key(batch["clean_text"].iat[i] or "")
        yield batch.assign(
            excluded=excluded,
            exclusion_reason=pd.Series(reasons, index=batch.index, dtype=object),
            dup_key=pd.Series(keys, index=batch.index, dtype=object),
        )


def embed_partition(batches: Iterator[pd.DataFrame], config: RunConfig) -> Iterator[pd.DataFrame]:
    embedder = worker_embedder(config)
    for batch in batches:
        if batch.empty:
            continue
        vectors = np.asarray(embedder.encode(batch["clean_text"].astype(str).tolist()), np.float32)
        yield pd.DataFrame({"group": batch["group"].to_numpy(), "vector": list(vectors)})


def label_partition(
    batches: Iterator[pd.DataFrame], config: RunConfig, fit: dict[str, Any], classifier: Any
) -> Iterator[pd.DataFrame]:
    """Theme (fitted or assigned), map position and taxonomy labels of each distinct text."""
    model = fit["model"]
    for batch in batches:
        groups = batch["group"].to_numpy(dtype=np.int64)
        vectors = np.stack(batch["vector"].to_numpy()).astype(np.float32) if len(batch) else np.zeros((0, 1))
        position = np.searchsorted(fit["groups"], groups)
        position = np.minimum(position, max(len(fit["groups"]) - 1, 0))
        sampled = fit["groups"][position] == groups if len(fit["groups"]) else np.zeros(len(groups), bool)
        done = assign_texts(vectors, model, batch_size=max(len(vectors), 1))
        labels = np.where(sampled, fit["labels"][position], done.labels)
        reassigned = np.where(sampled, fit["reassigned"][position], done.reassigned)
        xy = np.where(sampled[:, None], fit["xy"][position], done.xy)
        out = pd.DataFrame(
            {"group": groups, "theme_id": labels, "theme_id_reassigned": reassigned, "x": xy[:, 0], "y": xy[:, 1],
             "assigned": ~sampled},
        )  # fmt: skip
        if classifier is not None:
            table, _ = label_texts(vectors, batch["clean_text"].astype(str).tolist(), classifier, config.classify)
            branch = table["category_id"].map(
                lambda c: classifier.taxonomy.branch_of(c) if isinstance(c, str) else None
            )
            out = out.assign(
                category_id=table["category_id"].to_numpy(dtype=object),
                category=table["category"].to_numpy(dtype=object),
                severity=table["severity"].to_numpy(dtype=object),
                category_confidence=table["category_confidence"].to_numpy(dtype=float),
                categories=table["categories"].map(list).to_numpy(),
                branch=branch.to_numpy(dtype=object),
            )
        else:
            out = out.assign(
                category_id=None, category="Unmapped", severity="none", category_confidence=np.nan,
                categories=[[] for _ in range(len(out))], branch=None,
            )  # fmt: skip
        yield out


def row_partition(
    batches: Iterator[pd.DataFrame], bin_width: str | None, query_col: str | None
) -> Iterator[pd.DataFrame]:
    """Per-row columns the aggregations read: status, time bin, day, stripped query."""
    for batch in batches:
        excluded = batch["excluded"].to_numpy(dtype=bool)
        theme = batch["theme_id"].fillna(-1).astype(np.int64).to_numpy()
        status = np.where(~excluded, np.where(theme >= 0, "themed", "outlier"), "excluded")
        times = pd.to_datetime(batch["time"], utc=True)
        out = batch.assign(
            status=status,
            _bin=times.dt.floor(pd.Timedelta(bin_width)) if bin_width else pd.NaT,
            _day=times.dt.strftime("%Y-%m-%d"),
        )
        if query_col:
            out["_query"] = batch[query_col].astype("string").str.strip()
        yield out
