"""NLI re-scoring through the real transformers zero-shot pipeline, with a tiny random model.

The model is a 1-layer BERT with random weights and the NLI labels, built and saved by the test:
its scores are meaningless, but every line of the loading and re-scoring path runs for real.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLE_CSV

from models.embedding import HashingEmbedder
from models.nli import NliScorer, load_nli
from pipeline.classify import PrototypeClassifier, classify
from pipeline.config import ClassifyConfig, RunConfig
from pipeline.errors import ModelError
from pipeline.taxonomy import load_taxonomy

WORDS = [
    "the",
    "a",
    "is",
    "this",
    "feedback",
    "about",
    "search",
    "results",
    "video",
    "videos",
    "app",
    "got",
    "for",
    "and",
    "of",
    "to",
]


def save_tiny_bert(directory: Path, label2id: dict[str, int]) -> Path:
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    directory.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"abcdefghijklmnopqrstuvwxyz", *WORDS]
    (directory / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab_file=str(directory / "vocab.txt"), do_lower_case=True)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=256,
        num_labels=len(label2id),
        label2id=label2id,
        id2label={v: k for k, v in label2id.items()},
    )
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def tiny_nli(tmp_path_factory: pytest.TempPathFactory) -> Path:
    labels = {"contradiction": 0, "neutral": 1, "entailment": 2}
    return save_tiny_bert(tmp_path_factory.mktemp("tiny-nli"), labels)


class CountingScorer:
    """Wraps the real scorer and records how many (text, hypothesis) pairs it was asked for."""

    def __init__(self, inner: NliScorer) -> None:
        self.inner = inner
        self.source = inner.source
        self.calls: list[tuple[int, int]] = []

    def score(self, texts: list[str], labels: list[str], *, template: str) -> list[dict[str, float]]:
        self.calls.append((len(texts), len(labels)))
        return self.inner.score(texts, labels, template=template)


def test_a_local_nli_model_scores_every_candidate_label(tiny_nli: Path) -> None:
    scorer = load_nli(str(tiny_nli))
    out = scorer.score(["the app got videos", "search results"], ["scams", "praise"], template="This is about {}.")
    assert len(out) == 2
    for scores in out:
        assert set(scores) == {"scams", "praise"}
        assert all(0.0 <= v <= 1.0 for v in scores.values())


def test_a_model_without_an_entailment_label_is_refused(tmp_path: Path) -> None:
    plain = save_tiny_bert(tmp_path / "sentiment", {"negative": 0, "positive": 1})
    with pytest.raises(ModelError, match=r"not an NLI model.*entailment"):
        load_nli(str(plain))


def test_a_missing_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no such directory"):
        load_nli(str(tmp_path / "nowhere" / "model"))


def test_an_uncached_hub_id_offline_says_what_was_tried_and_how_to_fix_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelError) as info:
        load_nli("example-org/no-such-nli-model")
    message = str(info.value)
    assert "tried Hugging Face id 'example-org/no-such-nli-model'" in message and "classify.nli_model" in message


def test_only_a_shortlist_is_re_scored_never_rows_times_all_nodes(tiny_nli: Path) -> None:
    taxonomy = load_taxonomy()
    classifier = PrototypeClassifier(taxonomy, HashingEmbedder()).fit()
    texts = [
        *taxonomy.node("safety.self_harm").examples[:3],
        *taxonomy.node("product.praise").examples[:3],
        "zzqx vvbn",
    ]
    rows = pd.DataFrame({"clean_text": texts})
    vectors = HashingEmbedder().encode(texts)
    themes = pd.DataFrame(
        {
            "theme_id": [0, 1],
            "keywords": [["harm"], ["love"]],
            "size": [3, 3],
            "representatives": [texts[:2], texts[3:5]],
        }
    )
    labels = np.array([0, 0, 0, 1, 1, 1, -1])
    config = ClassifyConfig(nli_top_k=2, nli_row_floor=0.3)
    scorer = CountingScorer(load_nli(str(tiny_nli)))
    result = classify(rows, vectors, themes, labels, classifier, config, nli=scorer)

    assert scorer.calls, "NLI was never called"
    assert all(n_labels <= config.nli_top_k for _, n_labels in scorer.calls)
    pairs = sum(n * k for n, k in scorer.calls)
    rescored = result.params["nli"]["rows_rescored"]
    assert pairs == (rescored + 2 * 2) * config.nli_top_k  # the shortlisted rows + 2 reps of 2 themes
    assert pairs < len(texts) * len(classifier.leaves)
    assert rescored >= 1  # the self-harm examples are within reach of a safety node
    assert result.params["nli"]["model"] == str(tiny_nli.resolve())


def test_a_run_with_an_unloadable_nli_model_fails_before_any_work(fast_config: RunConfig, tmp_path: Path) -> None:
    from pipeline import run

    config = fast_config.with_overrides({"classify.nli_model": str(tmp_path / "missing")})
    with pytest.raises(ModelError):
        run(pd.DataFrame({"text": ["a"]}), config)
    assert not (tmp_path / "out").exists()


def test_a_run_with_an_nli_model_records_it(fast_config: RunConfig, tiny_nli: Path) -> None:
    from pipeline import run

    sample_frame = pd.read_csv(SAMPLE_CSV, nrows=300)[["Content"]].rename(columns={"Content": "text"})
    config = fast_config.with_overrides({"classify.nli_model": str(tiny_nli), "classify.nli_max_rows": 20})
    result = run(sample_frame, config, write=False)
    assert result.manifest["models"]["nli"] == f"nli:{tiny_nli.resolve()}"
    assert 0 <= result.manifest["classify"]["nli"]["rows_rescored"] <= 20
