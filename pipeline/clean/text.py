"""Clean, per-row text rules: Unicode and HTML normalization, regex PII redaction, the duplicate key.

Cheap and row-local (no spaCy): the Spark engine runs :func:`prepare_text` per partition. May import
the config and nothing else of the pipeline.
"""

from __future__ import annotations

import html
import re
import unicodedata

from pipeline.config import CleanConfig

#: Typed placeholders that replace PII; the words inside the brackets are never keywords.
PLACEHOLDERS = ("[URL]", "[EMAIL]", "[CARD]", "[PHONE]", "[HANDLE]", "[PERSON]")
_PLACEHOLDER_WORDS = {p.strip("[]") for p in PLACEHOLDERS}
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(\s[^<>]*)?/?>|<!--.*?-->", re.S)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028\u2029\ufeff]")
_SPACE = re.compile(r"\s+")
_URL = re.compile(
    r"\b(?:https?://|ftp://|www\.)[^\s<>\"']+"
    r"|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|net|org|io|co|ly|gl|me|app|tv)/[^\s<>\"']*",
    re.I,
)
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")
_CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
_PHONE = re.compile(
    r"(?<![\w+-])(?:\+?\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)[\s.-]?)?\d{2,4}[\s.-]?\d{3,4}(?:[\s.-]?\d{3,4})?(?![\w-])"
)
_HANDLE = re.compile(r"(?<![\w@])@[A-Za-z0-9_][A-Za-z0-9_.]{1,29}\b")
_NOT_ALNUM = re.compile(r"[^\w]+|_")
_LETTER = re.compile(r"[^\W\d_]")


def normalize_text(text: str) -> str:
    """NFKC, HTML entities and tags, control characters and runs of whitespace."""
    text = unicodedata.normalize("NFKC", text)
    text = html.unescape(text)
    text = _TAG.sub(" ", text)
    text = _CONTROL.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    return "[CARD]" if 13 <= len(digits) <= 19 and _luhn_ok(digits) else match.group()


def _phone(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    return "[PHONE]" if 7 <= len(digits) <= 15 else match.group()


def redact_pii(text: str) -> str:
    """Replace URLs, emails, card numbers (Luhn-checked), phone numbers and @handles."""
    text = _URL.sub("[URL]", text)
    text = _EMAIL.sub("[EMAIL]", text)
    text = _CARD.sub(_card, text)
    text = _PHONE.sub(_phone, text)
    return _HANDLE.sub("[HANDLE]", text)


def canonical_key(text: str) -> str:
    """The form two near-duplicates share: casefolded, punctuation and spacing removed."""
    return _SPACE.sub(" ", _NOT_ALNUM.sub(" ", text.casefold())).strip()


def prepare_text(text: str, config: CleanConfig) -> tuple[str, bool]:
    """Per-row normalization before spaCy: truncation, Unicode/whitespace clean-up, regex PII redaction.

    Returns the text and whether it was truncated."""
    truncated = len(text) > config.max_chars
    text = normalize_text(text[: config.max_chars])
    return (redact_pii(text) if config.redact_pii else text), truncated


def late_exclusion(clean_text: str | None, language: str | None, config: CleanConfig) -> str | None:
    """Why a row is excluded after cleaning (no letters left, a language not asked for), or None."""
    if _letters(clean_text or "") < config.min_letters:
        return "no_letters"
    if config.languages and language not in set(config.languages):
        return "language"
    return None


def _letters(text: str) -> int:
    return len(_LETTER.findall(_strip_placeholders(text)))


def _strip_placeholders(text: str) -> str:
    for placeholder in PLACEHOLDERS:
        text = text.replace(placeholder, " ")
    return text
