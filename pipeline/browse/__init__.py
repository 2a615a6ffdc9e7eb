"""Browse a run: the self-contained ``report.html`` and the local ``insights serve`` server.

Both show the same views from the same data shaping (:mod:`pipeline.browse.view`, which reads a run
folder with :mod:`pipeline.browse.run_files` and writes values with :mod:`pipeline.browse.values`), the same
template and the same script (``static/app.js``): the report embeds a bounded slice of the run,
the server answers the theme pages and the full-text search over every row.

Feedback is user-written: the template autoescapes, JSON inside ``<script>`` is escaped for that
context, and the script writes data with ``textContent`` only. Only ``clean_text`` (PII-redacted)
is ever shown; the raw ``text`` column is never read.
"""

from __future__ import annotations

from pipeline.browse.report import report_html

__all__ = ["report_html"]
