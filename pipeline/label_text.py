"""A label's written form: trimmed of fillers and edge punctuation, contractions restored, sentence case.

Kept apart from :mod:`pipeline.labels` (which finds and scores candidates): these functions only
rewrite one candidate's text the way a person writes a label ("so the app crashes!!!" -> "The app
crashes"), or reject it (two sentences, a bare auxiliary at the start, too long).
"""

from __future__ import annotations

import re
from collections import Counter

__all__ = ["clean_phrase", "sentence_case", "true_case", "word_forms"]

_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?")
_EDGE = re.compile(r"^[^\w\[]+|[^\w\]'’]+$")
#: Words a label does not start with (fillers, conjunctions, greetings).
_LEAD_DROP = {
    "and", "but", "or", "so", "also", "just", "well", "ok", "okay", "oh", "hi", "hello", "hey", "please", "pls",
    "plz", "then", "yes", "no", "now", "lol", "um", "wow", "still", "really", "actually", "basically", "to",
}  # fmt: skip
#: After a leading "I" these go too ("I'm unable to log in" -> "Unable to log in").
_AFTER_I_DROP = {"am", "'m", "’m", "was"}
#: "I have lost my card" -> "Lost my card": "have" (and "been") go before a participle.
_PERFECT = {"have", "'ve", "’ve", "had", "been"}
_PARTICIPLE = re.compile(r"(?:ed|en|lost|got|paid|sent|made|done|spent|put|bought|had|been)$", re.I)
#: Contractions written without their apostrophe, restored.
_CONTRACTIONS = {
    "dont": "don't", "cant": "can't", "wont": "won't", "doesnt": "doesn't", "didnt": "didn't", "isnt": "isn't",
    "wasnt": "wasn't", "arent": "aren't", "havent": "haven't", "hasnt": "hasn't", "couldnt": "couldn't",
    "wouldnt": "wouldn't", "shouldnt": "shouldn't", "im": "I'm", "ive": "I've",
}  # fmt: skip
#: A label does not start with a bare auxiliary ("Is very useful": its subject was left out).
_BAD_START = {"is", "are", "was", "were", "'s", "’s", "am", "does", "do", "did", "has", "of", "for", "with"}


def sentence_case(text: str) -> str:
    """First letter upper case; shouting and Title Case lowered; brands and acronyms ("PIN", "Spotify") kept."""
    words = text.split()
    if not words:
        return ""
    letters = [c for c in text if c.isalpha()]
    if letters and sum(c.isupper() for c in letters) > 0.6 * len(letters) and len(letters) > 4:
        words = [w.lower() for w in words]
    elif len(words) > 2 and all(w[:1].isupper() for w in words if w[:1].isalpha()):
        words = [words[0]] + [w if w.isupper() and len(w) <= 4 else w.lower() for w in words[1:]]
    words = [("I" + w[1:] if w.lower() in {"i", "i'm", "i've", "i'd", "i'll"} else w) for w in words]
    first = words[0]
    if not (first[:1].islower() and any(c.isupper() for c in first[1:])):  # "eBay", "iPhone" stay
        words[0] = first[:1].upper() + first[1:]
    return " ".join(words)


def clean_phrase(text: str, *, max_words: int) -> str | None:
    """A candidate trimmed into label form (no edge punctuation or fillers, sentence case), or None."""
    text = " ".join(text.replace("“", '"').replace("”", '"').split())
    text = re.sub(r"\s+([,.!?'’])", r"\1", text)
    for _ in range(3):
        text = _EDGE.sub("", text).strip()
        words = text.split()
        while words and words[0].lower().strip(",") in _LEAD_DROP:
            words = words[1:]
        if len(words) > 1 and words[0] in {"I", "i"}:
            words = words[1:]
            if len(words) > 1 and words[0].lower() in _AFTER_I_DROP:
                words = words[1:]
        elif words and words[0].lower() in {"i'm", "i’m", "i've", "i’ve"}:
            words = words[1:]
        while len(words) > 1 and words[0].lower() in _PERFECT and _PARTICIPLE.search(words[1]):
            words = words[1:]
        text = " ".join(_CONTRACTIONS.get(w.lower(), w) if w.isalpha() else w for w in words)
    if text.split() and (text.split()[0].lower() in _BAD_START or re.fullmatch(r"[B-HJ-Zb-hj-z]", text.split()[0])):
        return None
    if not text or len(text.split()) > max_words or not any(c.isalpha() for c in text):
        return None
    if re.search(r"\w[.!?,;]+\s+\w", text):  # two sentences or a list: its clauses are candidates of their own
        return None
    return sentence_case(text)


def word_forms(texts: list[str]) -> dict[str, Counter[str]]:
    """How each word is written inside sentences of the texts (sentence-initial words are not counted)."""
    forms: dict[str, Counter[str]] = {}
    for text in texts:
        for match in _WORD.finditer(text):
            before = text[: match.start()].rstrip()
            if before and before[-1] not in ".!?":
                word = match.group(0)
                forms.setdefault(word.lower(), Counter())[word] += 1
    return forms


def true_case(label: str, forms: dict[str, Counter[str]]) -> str:
    """Each word as the theme's texts mostly write it ("Identity" -> "identity", "atm" -> "ATM")."""
    words = label.split()
    for i, word in enumerate(words):
        seen = forms.get(word.lower())
        if seen and word != "I":
            best, count = seen.most_common(1)[0]
            if count > seen.get(word, 0):
                words[i] = best
    return sentence_case(" ".join(words))
