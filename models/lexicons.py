"""Built-in term lists that taxonomy nodes can name in their ``lexicon`` field.

Sentence embeddings see *what* a text is about, not *how* it is said: a tweet full of slurs and a
polite one on the same topic land close together. A lexicon gives the classifier that second signal.

``profanity``: the 900-odd word list shipped in the ``better-profanity`` package (MIT), a hand-made
list of swear words, slurs and sexual terms with leetspeak spellings. It is a word list, not a model
trained on any benchmark data.

``identity``: neutral names of groups protected in hate-speech policies (religions, ethnicities,
nationalities, sexual orientations, gender identities, disability), written for this project. Words
that are mostly used otherwise in app feedback ("white screen", "native app", "race game",
"Chinese results") are left out.

``identity_attack``: a text that hits both ``identity`` and ``profanity``: abusive language in the
same breath as a group, the pattern that separates hate from plain swearing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from importlib.resources import files

import numpy as np

__all__ = ["AllOf", "Lexicon", "load_lexicon"]

_WORD = re.compile(r"[a-z0-9@$!*_.\-]+")


class Lexicon:
    """A set of single words and short phrases, matched on whole lowercased tokens."""

    def __init__(self, name: str, terms: Iterable[str]) -> None:
        self.name = name
        cleaned = {" ".join(t.lower().split()) for t in terms if t and t.strip()}
        self.words = frozenset(t for t in cleaned if " " not in t)
        self.phrases = frozenset(t for t in cleaned if " " in t)

    def __len__(self) -> int:
        return len(self.words) + len(self.phrases)

    def _tokens(self, text: str) -> list[str]:
        return [tok.strip(".!*_-") or tok for tok in _WORD.findall(text.lower())]

    def matches(self, text: str) -> list[str]:
        """The lexicon's terms found in ``text``, in order of appearance."""
        tokens = self._tokens(text)
        found = [t for t in tokens if t in self.words]
        if self.phrases:
            joined = f" {' '.join(tokens)} "
            found += [p for p in self.phrases if f" {p} " in joined]
        return found

    def hits(self, texts: Iterable[str]) -> np.ndarray:
        """1.0 where a text contains at least one term, else 0.0."""
        return np.array([1.0 if self.matches(t or "") else 0.0 for t in texts], dtype=np.float32)


_IDENTITY_TERMS = [
    "blacks",
    "whites",
    "asians",
    "asian",
    "mexicans",
    "mexican",
    "latinos",
    "latino",
    "latina",
    "latinas",
    "hispanics",
    "hispanic",
    "arabs",
    "arab",
    "jew",
    "jews",
    "jewish",
    "muslim",
    "muslims",
    "islam",
    "islamic",
    "christians",
    "catholic",
    "catholics",
    "hindu",
    "hindus",
    "sikh",
    "sikhs",
    "gay",
    "gays",
    "lesbian",
    "lesbians",
    "homosexual",
    "homosexuals",
    "queer",
    "queers",
    "transgender",
    "transgenders",
    "bisexual",
    "immigrant",
    "immigrants",
    "refugee",
    "refugees",
    "foreigners",
    "africans",
    "african",
    "indians",
    "disabled",
]


class AllOf:
    """Hits where every one of its lexicons hits (a conjunction of lexicons)."""

    def __init__(self, name: str, parts: list[Lexicon]) -> None:
        self.name = name
        self.parts = parts

    def matches(self, text: str) -> list[str]:
        found = [part.matches(text) for part in self.parts]
        return [term for terms in found for term in terms] if all(found) else []

    def hits(self, texts: Iterable[str]) -> np.ndarray:
        texts = list(texts)
        out = np.ones(len(texts), dtype=np.float32)
        for part in self.parts:
            out *= part.hits(texts)
        return out


@cache
def load_lexicon(name: str) -> Lexicon | AllOf:
    """Load a built-in lexicon by name: ``profanity``, ``identity`` or ``identity_attack``."""
    if name == "profanity":
        text = (files("better_profanity") / "profanity_wordlist.txt").read_text(encoding="utf-8")
        return Lexicon(name, text.splitlines())
    if name == "identity":
        return Lexicon(name, _IDENTITY_TERMS)
    if name == "identity_attack":
        identity, profanity = load_lexicon("identity"), load_lexicon("profanity")
        assert isinstance(identity, Lexicon) and isinstance(profanity, Lexicon)
        return AllOf(name, [identity, profanity])
    raise KeyError(f"Unknown lexicon {name!r}; built-in lexicons: profanity, identity, identity_attack.")
