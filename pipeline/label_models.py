"""Optional generated labels: a local text2text or chat model behind :class:`pipeline.labels.LabelGenerator`.

Like BERTopic's representation models: the model reads a theme's keywords and a few verbatims (clean,
PII-redacted) and proposes a label, which then passes the same checks as the extracted candidates
(length, placeholders, profanity, one label per theme). ``represent.label_model`` names a directory
or a Hugging Face id, loaded as the embedding and NLI models are (with ``HF_HUB_OFFLINE=1``, as the
Makefile sets, only from the local cache, failing at once otherwise); none is configured by default.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from pipeline.config import RepresentConfig
from pipeline.errors import ModelError
from pipeline.labels import ThemeText

__all__ = ["TransformersLabeler", "prompt_of"]

log = logging.getLogger(__name__)


def prompt_of(theme: ThemeText, template: str, *, n_examples: int = 4, n_keywords: int = 6) -> str:
    """The prompt for one theme: ``template`` with ``{keywords}`` and ``{examples}`` filled in."""
    examples = "\n".join(f"- {' '.join(t.split()[:40])}" for t in theme.texts[:n_examples])
    return template.format(keywords=", ".join(theme.keywords[:n_keywords]), examples=examples)


class TransformersLabeler:
    """A local generative model that writes one label per theme.

    ``task``: ``text-generation`` (a causal or chat model, through transformers' pipeline) or
    ``seq2seq`` (an encoder-decoder such as T5, through ``AutoModelForSeq2SeqLM.generate``; transformers
    5 has no text2text pipeline). ``model`` is a local directory or a cached Hugging Face id; it loads on
    first use.
    """

    def __init__(
        self,
        model: str,
        *,
        task: str = "text-generation",
        prompt: str = RepresentConfig().label_prompt,
        max_new_tokens: int = 16,
    ) -> None:
        self.model = model
        self.task = task
        self.prompt = prompt
        self.max_new_tokens = max_new_tokens
        self._pipe: Any = None

    @classmethod
    def from_config(cls, config: RepresentConfig) -> TransformersLabeler:
        if not config.label_model:
            raise ValueError("represent.label_model is not set; a TransformersLabeler needs a model.")
        return cls(
            config.label_model,
            task=config.label_model_task,
            prompt=config.label_prompt,
            max_new_tokens=config.label_model_max_new_tokens,
        )

    def _load(self) -> Any:
        if self._pipe is None:
            try:
                import transformers
            except ImportError:
                raise ModelError(
                    "represent.label_model needs transformers; pip install transformers (or unset it)."
                ) from None
            try:
                if self.task == "seq2seq":
                    tokenizer = transformers.AutoTokenizer.from_pretrained(self.model)
                    model = transformers.AutoModelForSeq2SeqLM.from_pretrained(self.model)
                    self._pipe = (tokenizer, model.eval())
                else:
                    # Model and tokenizer are loaded here, then handed to the pipeline, as for seq2seq.
                    tokenizer = transformers.AutoTokenizer.from_pretrained(self.model)
                    model = transformers.AutoModelForCausalLM.from_pretrained(self.model)
                    self._pipe = transformers.pipeline("text-generation", model=model, tokenizer=tokenizer)
            except (OSError, ValueError, KeyError) as exc:
                first = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
                raise ModelError(
                    f"represent.label_model {self.model!r} cannot be loaded for {self.task} ({first}); give a local "
                    "model directory, or a Hugging Face id (offline: one in the local cache), or unset it."
                ) from None
            log.info("Loaded label model %s (%s)", self.model, self.task)
        return self._pipe

    def _seq2seq(self, prompts: list[str]) -> list[str]:
        import torch

        tokenizer, model = self._load()
        batch = tokenizer(prompts, return_tensors="pt", padding=True, truncation=True, max_length=512)
        with torch.no_grad():
            ids = model.generate(**batch, max_new_tokens=self.max_new_tokens, do_sample=False)
        return [str(t) for t in tokenizer.batch_decode(ids, skip_special_tokens=True)]

    def _causal(self, prompts: list[str]) -> list[str]:
        pipe = self._load()
        outputs = pipe(prompts, max_new_tokens=self.max_new_tokens, do_sample=False, return_full_text=False)
        return [str((out[0] if isinstance(out, list) else out).get("generated_text", "")) for out in outputs]

    def generate(self, themes: Sequence[ThemeText]) -> list[str | None]:
        """One proposal per theme: the first line the model wrote (None where it wrote nothing)."""
        if not themes:
            return []
        prompts = [prompt_of(t, self.prompt) for t in themes]
        texts = self._seq2seq(prompts) if self.task == "seq2seq" else self._causal(prompts)
        labels: list[str | None] = []
        for text in texts:
            lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
            labels.append(lines[0] if lines else None)
        return labels
