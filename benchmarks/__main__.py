"""``python -m benchmarks``: everything ``make bench`` measures, in one command.

The speed part (``benchmarks.run``: our pipeline at 2k, 10k, 50k and 100k rows, cold and warm, beside
BERTopic end to end up to ``--bertopic-max-rows``), then the theme-quality part (``benchmarks.quality``
on BANKING77 test and train+test). Both merge their records into ``RESULTS.json`` and render
``RESULTS.md`` from it. Same options as ``python -m benchmarks.run``; ``--help`` lists them.
"""

import sys

from benchmarks.run import main

if __name__ == "__main__":
    sys.exit(main(everything=True))
