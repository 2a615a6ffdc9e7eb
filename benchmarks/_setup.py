"""What every benchmark's ``main()`` does first, and the headless Chromium the browser measurements share.

One place for the log format and the offline switches, so the benchmarks' logs read alike and none of
them can reach for a model hub; the Chromium flags are also the browser tests' (``tests/browser``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

#: Debian's ``chromium`` (``make setup`` installs it); ``INSIGHTS_CHROMIUM`` points elsewhere.
CHROMIUM = Path(os.environ.get("INSIGHTS_CHROMIUM", "/usr/bin/chromium"))
#: Flags a headless Chromium needs in a container without a GPU, and that keep it off the network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def start_benchmark(*, quiet: bool = False, verbose: bool = False) -> None:
    """Timestamped logs on stderr (INFO; WARNING when ``quiet``, DEBUG when ``verbose``), models offline."""
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    for name, value in OFFLINE.items():
        os.environ.setdefault(name, value)
