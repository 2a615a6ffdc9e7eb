"""Whether a label candidate says what its theme is about: the theme's distinctive keywords, read cheaply.

A theme's c-TF-IDF keywords (lemmas and noun phrases) say what its texts share; the label should
carry the ones that tell it apart, not only the app or brand it is about or the sentiment words
every review has. Per theme (:func:`theme_keys`):

* **distinctive keywords**: the keywords in rank order, less the *generic* ones: sentiment words
  (good, great, love, hate, ...), filler (app, use, work, thing, ...), and brand-like words, that is
  words the texts write as proper nouns ("Netflix", "eBay") or keywords of three or more themes
  ("facebook" across the Facebook themes);
* **negative**: a distinctive keyword names a problem (crash, slow, error, ...);
* **opposites**: antonyms of the keywords ("fast" when "slow" is a keyword).

A candidate's words are matched on a crude stem of their lemma ("crashes", "crashed", "crash" all
``crash``). :func:`judge` gives its weighted keyword coverage and a penalty: it says only generic
words ("Ebay app", "It is good"), it holds an opposite of a keyword without the keyword ("Very fast
loading" for a "slow, load" theme), or it praises ("works great") a theme whose keywords are problems.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "GENERIC",
    "NEGATIVE",
    "POSITIVE",
    "PROBLEMS",
    "ThemeKeys",
    "brand_words",
    "general_labels",
    "judge",
    "stem",
    "stems_of",
    "theme_keys",
]

_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Praise: the words every happy review holds.
POSITIVE = _words(
    "good great love like nice awesome best amazing amaze excellent cool superb perfect fantastic wonderful "
    "happy fab favorite favourite fine helpful useful brilliant beautiful enjoy glad thank thanks super wow"
)
#: Praise of a quality: says something, but contradicts a theme whose keywords are problems.
_PRAISE = POSITIVE | _words("fast quick quickly smooth reliable easy easily stable")
#: Blame without saying what is wrong.
NEGATIVE = _words(
    "bad worst hate terrible awful horrible poor stupid useless suck sucks annoying irritate disappointed "
    "disappointing rubbish crap trash"
)
#: Words that name a problem: a theme holding one is a complaint, and its label does not praise.
PROBLEMS = _words(
    "crash bug error problem issue glitch freeze fail failure slow lag laggy broken fix stop stuck unable "
    "cannot can't cant won't wont doesn't doesnt didn't didnt not never no wrong missing lose lost "
    "disappear delay decline declined block blocked"
)
#: Filler a label of its own should not be made of.
_FILLER = _words(
    "app apps application thing way use using used work works get really just very lot thank thanks u ur "
    "android phone version new"
)
GENERIC = POSITIVE | NEGATIVE | _FILLER
#: A keyword's opposite in a label contradicts the theme (stems, both ways).
_ANTONYMS = {
    "slow": {"fast", "quick", "quickly", "speedy"},
    "lag": {"fast", "smooth"},
    "laggy": {"fast", "smooth"},
    "crash": {"stable", "smooth"},
    "expensive": {"cheap", "free"},
    "hard": {"easy", "easily", "simple"},
    "difficult": {"easy", "easily", "simple"},
    "confusing": {"easy", "easily", "simple", "clear"},
    "easy": {"hard", "difficult", "confusing"},
    "fast": {"slow"},
    "cheap": {"expensive"},
    "free": {"expensive"},
}


def stem(word: str) -> str:
    """A crude stem that folds plural, past and -ing forms ("crashes", "crashed", "crashing" -> "crash")."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    if re.search(r"(?:s|x|z|ch|sh)es$", w) and len(w) > 5:
        w = w[:-2]  # "crashes", "fixes"
    else:
        for suffix in ("ing", "ed", "s"):
            if w.endswith(suffix) and len(w) - len(suffix) >= 3 and not w.endswith("ss"):
                w = w[: -len(suffix)]
                break
    return w[:-1] if w.endswith("e") and len(w) > 4 else w  # "update", "updated" -> "updat"; "note" stays


def stems_of(text: str, lemmas: Mapping[str, str] | None = None, stop: frozenset[str] = frozenset()) -> frozenset[str]:
    """Stems of a text's words that are not in ``stop`` (of their spaCy lemma where ``lemmas`` knows the word)."""
    lemmas = lemmas or {}
    return frozenset(stem(lemmas.get(w.lower(), w)) for w in _WORD.findall(text) if w.lower() not in stop)


_GENERIC_STEMS = frozenset(stem(w) for w in GENERIC)
_PRAISE_STEMS = frozenset(stem(w) for w in _PRAISE)
_NEGATIVE_STEMS = frozenset(stem(w) for w in NEGATIVE)
_PROBLEM_STEMS = frozenset(stem(w) for w in PROBLEMS)
_NAMED = re.compile(r"^(?:love|use|using|access|open) (\w+)$|^(\w+) (?:app|account|apps)$")
_DENIAL = frozenset(stem(w) for w in _words("no not any never without zero don't dont"))
_PROBLEM_NOUNS = frozenset(stem(w) for w in _words("problem issue crash bug glitch error lag"))
_ANTONYM_STEMS = {stem(k): frozenset(stem(v) for v in vs) for k, vs in _ANTONYMS.items()}


@dataclass(frozen=True)
class ThemeKeys:
    """What a theme's label should say: its distinctive keywords (stems, rank order) and what it must not say."""

    distinctive: tuple[frozenset[str], ...]
    generic: frozenset[str]
    opposites: frozenset[str]
    negative: bool
    general: bool = False  # its first keywords are sentiment and filler only: general praise or blame

    def sentiment_only(self) -> bool:
        """Whether the theme is one of general praise or blame, with no topic of its own."""
        return self.general


def brand_words(
    forms: Mapping[str, Counter[str]], keyword_lists: Sequence[Sequence[str]], shared: float = 0.15
) -> set[str]:
    """Stems of words written as proper nouns inside sentences, named as a product in two keyword phrases
    ("ebay app", "love ebay"), or keywords of a ``shared`` share of the themes."""
    out = set()
    for word, seen in forms.items():
        total = sum(seen.values())
        capital = sum(c for form, c in seen.items() if form[:1].isupper() or any(ch.isupper() for ch in form[1:]))
        if total >= 2 and capital >= 0.6 * total and not (word.upper() in seen and len(word) <= 4):
            out.add(stem(word))  # "Netflix", "eBay"; not acronyms such as "PIN" or "ATM"
    named: Counter[str] = Counter()  # "ebay app", "love ebay", "use evernote": a product's name
    for phrase in {k for keywords in keyword_lists for k in keywords}:
        match = _NAMED.match(phrase)
        if match:
            named[match.group(1) or match.group(2)] += 1
    out |= {stem(w) for w, n in named.items() if n >= 2}
    counts: Counter[str] = Counter()
    for keywords in keyword_lists:
        counts.update({stem(w) for k in keywords for w in k.split()})
    out |= {w for w, n in counts.items() if n >= max(3.0, shared * len(keyword_lists))}
    return out - {"i"}


def theme_keys(keywords: Sequence[str], brands: set[str], *, top: int = 5, first: int = 8) -> ThemeKeys:
    """A theme's :class:`ThemeKeys` from its keywords (rank order) and the run's brand-like stems.

    The distinctive keywords are at most ``top`` of the first ``first``; none among the first
    ``top`` makes the theme one of general praise or blame (:meth:`ThemeKeys.sentiment_only`).
    """
    generic = _GENERIC_STEMS | frozenset(brands)
    distinctive: list[frozenset[str]] = []
    all_stems: set[str] = set()
    general = bool(keywords) and all(stems_of(k) <= _GENERIC_STEMS for k in keywords[:top])
    if general or all(stems_of(k) <= generic for k in keywords[:top]):
        keywords = []  # no topic of its own among its first keywords
    for keyword in keywords[:first]:
        stems = stems_of(keyword)
        all_stems |= stems
        content = stems - generic
        if content and content not in distinctive:
            distinctive.append(frozenset(content))
    distinctive = distinctive[:top]
    opposites = frozenset(a for s in all_stems for a in _ANTONYM_STEMS.get(s, ())) - all_stems
    negative = any(d & _PROBLEM_STEMS for d in distinctive[:3])
    return ThemeKeys(tuple(distinctive), generic, opposites, negative, general)


def judge(
    words: frozenset[str], keys: ThemeKeys, *, every: frozenset[str] = frozenset(), n_hit: int = 3
) -> tuple[float, bool, float]:
    """``(coverage, hits, penalty)`` of a candidate's content-word stems ``words`` (``every``: all its stems).

    ``coverage``: the share of the distinctive keywords whose stems it holds (weighted 1, 1/sqrt 2,
    1/sqrt 3, ...), partly for a phrase keyword half held; ``hits``: it holds one of the first ``n_hit``;
    ``penalty``: 1 for each of generic words only, an opposite of a keyword, praise of a complaint
    theme, a denied problem in a complaint theme ("Don't have any problems").
    """
    weights = [1.0 / (r + 1) ** 0.5 for r in range(len(keys.distinctive))]
    got = sum(w * len(d & words) / len(d) for w, d in zip(weights, keys.distinctive, strict=True))
    coverage = got / sum(weights) if weights else 0.0
    hits = any(d <= words or (len(d) > 1 and len(d & words) >= 1) for d in keys.distinctive[:n_hit])
    penalty = 0.0
    if not words - keys.generic:
        penalty += 1.0
    if words & keys.opposites:
        penalty += 1.0
    if keys.negative and words & _PRAISE_STEMS and not words & _PROBLEM_STEMS:
        penalty += 1.0
    if keys.negative and (every | words) & _DENIAL and words & _PROBLEM_NOUNS:
        penalty += 1.0
    return coverage, hits, penalty


def general_labels(keywords: Sequence[str]) -> list[str]:
    """Labels for a theme with no distinctive keyword: general praise, or general complaints."""
    stems = [stem(w) for k in keywords[:5] for w in k.split()]
    praise = sum(s in _PRAISE_STEMS for s in stems)
    blame = sum(s in _NEGATIVE_STEMS or s in _PROBLEM_STEMS for s in stems)
    if praise >= blame:
        return ["General praise", "Praise without details"]
    return ["General complaints", "Complaints without details"]
