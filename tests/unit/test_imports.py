"""Every package entry point imports on its own, in a fresh interpreter, in any order."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import REPO


@pytest.mark.parametrize(
    "statement",
    [
        "import models.embedding",
        "from models.nlp import load_spacy",
        "import models",
        "from pipeline import run, RunResult",
        "import pipeline.cli",
    ],
)
def test_module_imports_first_in_a_fresh_process(statement):
    proc = subprocess.run([sys.executable, "-c", statement], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr.strip().splitlines()[-1:]


def test_cli_import_does_not_load_the_heavy_stack():
    code = "import sys, pipeline.cli; print(sorted({'torch', 'umap', 'sentence_transformers'} & set(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_loading_the_lemmatizer_does_not_import_torch_but_torch_still_imports_after():
    code = (
        "import sys; from models.nlp import load_lemmatizer; load_lemmatizer(); a = 'torch' in sys.modules; "
        "import torch; print(a, torch.ones(2).sum().item())"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr.strip().splitlines()[-1:]
    assert proc.stdout.split() == ["False", "2.0"]
