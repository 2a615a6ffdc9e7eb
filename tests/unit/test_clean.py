"""Clean: normalization, PII redaction, duplicates and exclusions, without lowercasing."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.clean import canonical_key, clean, normalize_text, redact_pii
from pipeline.config import CleanConfig
from pipeline.ingest import ingest_frame
from pipeline.schemas import CLEANED

FAST = CleanConfig(spacy_model="blank:en")


def _clean(texts: list[object], config: CleanConfig = FAST, nlp=None, ids: list[str] | None = None) -> pd.DataFrame:
    frame = pd.DataFrame({"text": texts, "id": ids or [f"r{i}" for i in range(len(texts))]})
    return clean(ingest_frame(frame).rows, config, nlp=nlp)


# --- normalize_text --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ﬁle ﬂow", "file flow"),  # NFKC ligatures
        ("Ｓｅａｒｃｈ　ｂｏｘ", "Search box"),  # full-width letters and space
        ("Tom &amp; Jerry &lt;3 caf&eacute;", "Tom & Jerry <3 café"),  # HTML entities
        ("<p>Great <b>app</b></p><br/>", "Great app"),  # tags
        ("before<!-- hidden -->after", "before after"),  # comments
        ("tab\there\nnew   line \u200b zero\x07bell", "tab here new line zero bell"),  # whitespace, controls
        ("  padded  ", "padded"),
    ],
)
def test_normalize_text(raw, expected):
    assert normalize_text(raw) == expected


def test_normalize_text_keeps_case_and_punctuation():
    assert normalize_text("WHY does it Crash?!") == "WHY does it Crash?!"


# --- redact_pii ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("mail jane.doe+x@example.co.uk now", "mail [EMAIL] now"),
        ("call +1 415-555-0100 today", "call [PHONE] today"),
        ("call (415) 555-0100 today", "call [PHONE] today"),
        ("see https://example.com/a?b=1 and www.foo.org", "see [URL] and [URL]"),
        ("bit.ly/abc123 is spam", "[URL] is spam"),
        ("ping @jane_doe please", "ping [HANDLE] please"),
        ("card 4111 1111 1111 1111 was charged", "card [CARD] was charged"),
        ("card 4111111111111111 was charged", "card [CARD] was charged"),
        ("amex 3782-822463-10005 ok", "amex [CARD] ok"),
    ],
)
def test_redact_pii_replaces_with_typed_placeholders(raw, expected):
    assert redact_pii(raw) == expected


def test_email_is_not_mistaken_for_a_handle():
    assert redact_pii("write to support@example.com") == "write to [EMAIL]"


@pytest.mark.parametrize(
    "raw",
    [
        "order 1234567890123456 never arrived",  # 16 digits, fails the Luhn check
        "version 2.3.14 broke it",
        "on 2024-01-02 it broke",
        "costs $1,299.99",
        "waited 10 minutes in 2023",
        "rated 5/5",
    ],
)
def test_digit_runs_that_are_not_cards_or_phones_are_kept(raw):
    assert redact_pii(raw) == raw


def test_grouped_non_card_number_is_not_half_redacted():
    out = redact_pii("ref 4111-1111-1111-1112 here")
    assert "[CARD]" not in out
    assert out in {"ref 4111-1111-1111-1112 here", "ref [PHONE] here"}


def test_luhn_decides_between_card_and_not_card():
    assert "[CARD]" in redact_pii("4539 1488 0343 6467")  # Luhn-valid
    assert "[CARD]" not in redact_pii("4539148803436468")  # same length, Luhn-invalid


# --- canonical_key ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Great app!!", "great app"),
        ("Great   app", "GREAT-APP"),
        ("Crashes, on start.", "crashes on start"),
        ("won't_load", "won t load"),
    ],
)
def test_near_duplicates_share_a_canonical_key(a, b):
    assert canonical_key(a) == canonical_key(b)


def test_different_texts_have_different_keys():
    assert canonical_key("crashes on start") != canonical_key("crashes on exit")


# --- clean() ---------------------------------------------------------------------------------


def test_clean_adds_the_cleaned_schema_and_keeps_rows(blank_nlp):
    out = _clean(["The app crashes", "Dark mode please"], nlp=blank_nlp)
    assert set(CLEANED) <= set(out.columns)
    assert len(out) == 2


def test_clean_text_is_not_lowercased_and_keeps_stopwords(blank_nlp):
    out = _clean(["WHY does The App crash?"], nlp=blank_nlp)
    assert out.loc[0, "clean_text"] == "WHY does The App crash?"


def test_original_text_is_kept_beside_the_redacted_clean_text(blank_nlp):
    raw = "Email me at jane@example.com <b>now</b>"
    out = _clean([raw], nlp=blank_nlp)
    assert out.loc[0, "text"] == raw
    assert out.loc[0, "clean_text"] == "Email me at [EMAIL] now"


def test_redaction_can_be_turned_off(blank_nlp):
    out = _clean(["Email me at jane@example.com"], CleanConfig(spacy_model="blank:en", redact_pii=False), blank_nlp)
    assert out.loc[0, "clean_text"] == "Email me at jane@example.com"


def test_exact_and_near_duplicates_point_to_the_first_row(blank_nlp):
    out = _clean(["Login fails!", "login fails", "Something else", "LOGIN   FAILS."], nlp=blank_nlp)
    assert out["duplicate_of"].tolist() == [None, "r0", None, "r0"]
    assert out.loc[0, "dup_key"] == out.loc[3, "dup_key"]
    assert not out["excluded"].any()  # duplicates still count


def test_long_text_is_truncated_and_flagged(blank_nlp):
    config = CleanConfig(spacy_model="blank:en", max_chars=100)
    out = _clean(["word " * 1000, "short text"], config, blank_nlp)
    assert out["truncated"].tolist() == [True, False]
    assert len(out.loc[0, "clean_text"]) <= 100
    assert out.loc[0, "text"] == "word " * 1000


@pytest.mark.parametrize("text", ["!!!", "?? ..", "[URL] [EMAIL]", "https://example.com", "12 34"])
def test_texts_without_letters_are_excluded(blank_nlp, text):
    out = _clean([text, "a real sentence"], nlp=blank_nlp)
    assert out["exclusion_reason"].tolist() == ["no_letters", None]
    assert out["excluded"].tolist() == [True, False]


def test_rows_excluded_at_ingest_keep_their_reason_and_get_no_clean_text(blank_nlp):
    out = _clean(["", "   ", "fine text"], nlp=blank_nlp)
    assert out["exclusion_reason"].tolist() == ["empty", "whitespace_only", None]
    assert out["clean_text"].isna().tolist() == [True, True, False]
    assert out["duplicate_of"].isna().all()


def test_language_is_identified(blank_nlp):
    out = _clean(
        [
            "The search results are completely wrong and useless for me",
            "Die Suchergebnisse sind völlig falsch und für mich nutzlos",
        ],
        nlp=blank_nlp,
    )
    assert out["language"].tolist() == ["en", "de"]


def test_rows_outside_the_configured_languages_are_excluded(blank_nlp):
    config = CleanConfig(spacy_model="blank:en", languages=["en"])
    out = _clean(
        [
            "The search results are completely wrong and useless for me",
            "Les résultats de recherche sont complètement faux et inutiles",
        ],
        config,
        blank_nlp,
    )
    assert out["exclusion_reason"].tolist() == [None, "language"]


def test_lemmas_are_lowercased_for_keywords_only(blank_nlp):
    out = _clean(["Sync FAILS on [URL] every Time"], nlp=blank_nlp)
    assert out.loc[0, "lemmas"] == "sync fails on every time"  # placeholder words dropped
    assert out.loc[0, "clean_text"] == "Sync FAILS on [URL] every Time"


def test_spacy_model_named_in_config_is_loaded_when_no_nlp_is_given():
    out = _clean(["Fine words here"])  # FAST config names blank:en
    assert out.loc[0, "clean_text"] == "Fine words here"
