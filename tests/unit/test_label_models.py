"""The optional generated labels, through a tiny randomly initialised local model (no download, no weights)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.config import RepresentConfig
from pipeline.errors import ModelError
from pipeline.label_models import TransformersLabeler, prompt_of
from pipeline.labels import ThemeText, has_placeholder, theme_labels

transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

WORDS = [
    "card",
    "has",
    "not",
    "arrived",
    "yet",
    "my",
    "new",
    "declined",
    "why",
    "was",
    "the",
    "at",
    "shop",
    "label",
    "keywords",
    "examples",
    "write",
    "a",
    "short",
]


def _tokenizer(folder: Path) -> None:
    vocab = {w: i for i, w in enumerate(["[PAD]", "[UNK]", "[EOS]", *WORDS])}
    model = tokenizers.models.WordLevel(vocab, unk_token="[UNK]")
    tok = tokenizers.Tokenizer(model)
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", eos_token="[EOS]"
    )
    fast.save_pretrained(folder)


@pytest.fixture(scope="module")
def tiny_causal(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-gpt2")
    _tokenizer(folder)
    config = transformers.GPT2Config(vocab_size=len(WORDS) + 3, n_positions=256, n_embd=16, n_layer=1, n_head=2,
                                     pad_token_id=0, eos_token_id=2, bos_token_id=2)  # fmt: skip
    transformers.GPT2LMHeadModel(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_seq2seq(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-t5")
    _tokenizer(folder)
    config = transformers.T5Config(vocab_size=len(WORDS) + 3, d_model=16, d_kv=8, d_ff=32, num_layers=1,
                                   num_heads=2, pad_token_id=0, eos_token_id=2, decoder_start_token_id=0)  # fmt: skip
    transformers.T5ForConditionalGeneration(config).save_pretrained(folder)
    return folder


def _themes() -> list[ThemeText]:
    rng = np.random.default_rng(0)
    texts = [["My new card has not arrived yet", "card not arrived"], ["Why was my card declined at the shop"]]
    return [ThemeText(i, t, ["card"], rng.normal(size=8), len(t)) for i, t in enumerate(texts)]


def test_prompt_holds_the_keywords_and_examples():
    prompt = prompt_of(_themes()[0], RepresentConfig().label_prompt)
    assert "Keywords: card" in prompt and "- My new card has not arrived yet" in prompt


@pytest.mark.parametrize("task", ["text-generation", "seq2seq"])
def test_a_local_model_proposes_one_label_per_theme(task, tiny_causal, tiny_seq2seq):
    folder = tiny_causal if task == "text-generation" else tiny_seq2seq
    labeler = TransformersLabeler.from_config(RepresentConfig(label_model=str(folder), label_model_task=task,
                                                              label_model_max_new_tokens=4))  # fmt: skip
    proposals = labeler.generate(_themes())
    assert len(proposals) == 2
    assert all(p is None or isinstance(p, str) for p in proposals)
    # Whatever a random model writes, the labels stay valid: distinct, short, no placeholders.
    config = RepresentConfig(label_spacy_model="blank:en", label_model=str(folder))
    labels = theme_labels(_themes(), config, generator=labeler)
    assert len(set(labels)) == 2
    assert all(label and not has_placeholder(label) and len(label.split()) <= 8 for label in labels)


def test_a_missing_model_says_which_setting_to_fix(tmp_path):
    labeler = TransformersLabeler(str(tmp_path / "nowhere"))
    with pytest.raises(ModelError, match=r"represent\.label_model"):
        labeler.generate(_themes())
