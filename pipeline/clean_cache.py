"""The on-disk cache of the clean stage's spaCy work per distinct text (lemmas, phrases, PERSON offsets).

A warm re-run of the same export spends most of its clean time in spaCy; the result of that work for
a text depends only on the text, the spaCy pipeline and a few clean settings (and, in the fast mode,
on which of the text's capitalized words are common in the corpus, so those words are part of the
key). Entries live beside the embedding cache in ``<cache>/clean/<identity digest>/`` as append-only
JSON shards, each written to a temporary name and renamed: a run killed mid-write leaves no shard, two
runs at once each add their own, and a shard that cannot be read or has the wrong shape is skipped
with a warning (its texts are analysed again), never a crash. A PERSON span is kept as its character
offsets only, so no name found is written out as such; the caller rebuilds it from the text. The
lemmas and phrases are still the text's own (lowercased) words from before name redaction, so the cache
is opt-in: ``clean.use_cache`` is off by default.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any, Generic, TypeVar

from pipeline.config import CleanConfig
from pipeline.store import atomic_path

__all__ = ["AnalysisCache", "LanguageCache", "analysis_identity", "analysis_key", "language_identity"]

log = logging.getLogger(__name__)

#: Bumped when what an entry holds changes, so old shards are never read as new ones.
FORMAT = 2

Terms = tuple[str, list[str]]
Offsets = list[tuple[int, int]]
V = TypeVar("V")


def _version(name: str) -> str | None:
    for candidate in (name, name.replace("_", "-")):
        try:
            return metadata.version(candidate)
        except (metadata.PackageNotFoundError, ValueError):
            continue
    return None


def _model_version(name: str) -> str | None:
    """The version of the spaCy pipeline ``name``: its package's, its meta.json's for a path, spaCy's for
    ``blank:``; None when it cannot be told (then nothing is cached)."""
    if name.startswith("blank:"):
        return "blank"
    path = Path(name)
    if path.is_dir():
        try:
            meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        version = meta.get("version")
        return f"{path.resolve()}@{version}" if isinstance(version, str) else None
    return _version(name)


def analysis_identity(config: CleanConfig) -> str | None:
    """What the cached spaCy work depends on besides the text, or None when the model's version is unknown."""
    model = _model_version(config.spacy_model)
    if model is None:
        return None
    parts = (
        f"format={FORMAT}",
        f"model={config.spacy_model}@{model}",
        f"spacy={_version('spacy')}",
        f"lookups={_version('spacy-lookups-data')}",
        f"mode={config.mode}",
        f"redact_pii={config.redact_pii}",
        f"redact_names={config.redact_names}",
        f"use_parser={config.use_parser}",
    )
    return "|".join(parts)


def language_identity() -> str:
    """What a cached language label depends on besides the text: the language identifier's version."""
    return f"format={FORMAT}|py3langid={_version('py3langid')}"


def analysis_key(text: str, anchors: Iterable[str] = ()) -> str:
    """The key of one text's entry: 16 bytes of SHA-256 (hex) over the text and the ``anchors`` (its
    capitalized words that are common in the corpus, which steer the fast mode's NER windows)."""
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass"))
    for word in sorted(anchors):
        digest.update(b"\0" + word.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:32]


def _entry(value: Any) -> tuple[Terms, Offsets] | None:
    """A stored value as (lemmas, phrases), PERSON offsets, or None if it does not have that shape."""
    if not (isinstance(value, list) and len(value) == 3):
        return None
    lemmas, phrases, spans = value
    if not isinstance(lemmas, str) or not isinstance(phrases, list) or not isinstance(spans, list):
        return None
    if not all(isinstance(p, str) for p in phrases):
        return None
    out: Offsets = []
    for span in spans:
        if not (isinstance(span, list) and len(span) == 2):
            return None
        start, end = span
        if type(start) is not int or type(end) is not int or not 0 <= start < end:
            return None
        out.append((start, end))
    return (lemmas, phrases), out


class _ShardCache(Generic[V]):
    """Per-text values on disk in JSON shards keyed by (identity, key); ``_parse`` checks a stored value."""

    kind = ""

    def __init__(self, root: Path, identity: str) -> None:
        digest = hashlib.sha256(f"{self.kind}|{identity}".encode()).hexdigest()[:16]
        self.dir = Path(root) / "clean" / digest
        self.identity = identity

    @staticmethod
    def _parse(value: Any) -> V | None:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    @staticmethod
    def _dump(value: V) -> Any:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def get_many(self, keys: list[str]) -> dict[str, V]:
        """The entries found for ``keys`` (a key missing from the result is to be analysed)."""
        wanted = set(keys)
        found: dict[str, V] = {}
        if not wanted or not self.dir.is_dir():
            return found
        for shard in sorted(self.dir.glob("shard-*.json")):
            try:
                data = json.loads(shard.read_text(encoding="utf-8"))
                if not isinstance(data, dict) or data.get("identity") != self.identity:
                    raise ValueError("not a shard of this cache")
                entries = data["entries"]
                if not isinstance(entries, dict):
                    raise ValueError("entries is not a mapping")
                shard_found: dict[str, V] = {}
                for key in wanted.intersection(entries):
                    entry = self._parse(entries[key])
                    if entry is None:
                        raise ValueError(f"entry {key} has the wrong shape")
                    shard_found[key] = entry
            except (OSError, ValueError, KeyError) as exc:  # JSONDecodeError is a ValueError
                log.warning("Skipping unreadable clean cache shard %s: %s", shard, exc)
                continue
            found.update(shard_found)
            wanted.difference_update(shard_found)
            if not wanted:
                break
        return found

    def put_many(self, entries: dict[str, V]) -> None:
        """Add one shard with ``entries`` (written to a temporary name, then renamed)."""
        if not entries:
            return
        payload = {
            "identity": self.identity,
            "entries": {key: self._dump(value) for key, value in entries.items()},
        }
        try:
            with atomic_path(self.dir / f"shard-{uuid.uuid4().hex}.json") as tmp:
                tmp.write_text(json.dumps(payload), encoding="ascii")  # ASCII escapes: any str survives
        except OSError as exc:
            # A cache that cannot be written costs the next run time, not this run its result.
            log.warning("Could not write the clean cache in %s: %s", self.dir, exc)


class AnalysisCache(_ShardCache[tuple[Terms, Offsets]]):
    """The spaCy work per text, keyed by :func:`analysis_key` under an :func:`analysis_identity`."""

    kind = "analysis"

    @staticmethod
    def _parse(value: Any) -> tuple[Terms, Offsets] | None:
        return _entry(value)

    @staticmethod
    def _dump(value: tuple[Terms, Offsets]) -> Any:
        (lemmas, phrases), offsets = value
        return [lemmas, phrases, [[start, end] for start, end in offsets]]


class LanguageCache(_ShardCache[tuple[str | None]]):
    """The language label per finished text (names redacted), under a :func:`language_identity`."""

    kind = "language"

    @staticmethod
    def _parse(value: Any) -> tuple[str | None] | None:
        if isinstance(value, list) and len(value) == 1 and (value[0] is None or isinstance(value[0], str)):
            return (value[0],)
        return None

    @staticmethod
    def _dump(value: tuple[str | None]) -> Any:
        return list(value)
