"""The rater guide: one HTML page generated from the taxonomy, to train reviewers.

It prints, for every leaf, the same text the classifier embeds as that node's prototypes (the
``name: description`` line and the examples), plus what the node is not (``excludes``) and its
severity, so reviewers and the classifier read one standard. It also defines the answers a
reviewer gives (theme membership, node, severity, Needs Met). The page has no script at all; its
one stylesheet is allowed by hash, and every text is escaped by the template engine.
"""

from __future__ import annotations

import base64
import hashlib
from importlib import resources
from typing import Any

from jinja2 import Environment, select_autoescape
from markupsafe import Markup

from pipeline.taxonomy import SEVERITIES, Taxonomy

__all__ = ["NEEDS_MET_GUIDE", "SEVERITY_GUIDE", "THEME_GUIDE", "rater_guide_html"]

THEME_GUIDE = {
    "yes": "The report is about what the theme's label and keywords say; a reader would file it there.",
    "no": "The report is about something else; the clustering put it here by a surface likeness.",
    "unsure": "Too short, ambiguous or in a language you cannot read. Unsure answers are left out of precision.",
}
SEVERITY_GUIDE = {
    "critical": "Imminent risk to life or to a child; illegal content in the most serious categories.",
    "high": "Serious harm to a person or group (hate, harassment, scams, dangerous advice).",
    "medium": "Harm or a policy breach of limited reach; a badly broken experience.",
    "low": "An annoyance or a quality problem; no one is hurt.",
    "none": "No harm and no problem (praise, questions, noise).",
}
NEEDS_MET_GUIDE = {
    "fails": "The result is unrelated to the query, unsafe for it, or unusable.",
    "slightly": "Related, but most people searching this would be disappointed.",
    "moderately": "Helpful for many people, but not the best one could expect.",
    "highly": "Very helpful for most people searching this.",
    "fully": "Exactly what almost everyone searching this wanted (a clear, specific query and a complete answer).",
}
_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; style-src {{ style_src }}; base-uri 'none'; form-action 'none'">
<meta name="referrer" content="no-referrer"><title>Rater guide — {{ taxonomy.name }}</title>
{% if css %}<style>{{ css }}</style>{% else %}<link rel="stylesheet" href="static/guide.css">{% endif %}</head><body>
<h1>Rater guide</h1>
<p>{{ taxonomy.name }} (<code>{{ taxonomy.id }}</code> version {{ taxonomy.version }}), {{ leaves|length }} categories.
Each definition and example below is the text the classifier compares reports with: when you judge a label, you
apply the same standard the machine was given.</p>
<h2 id="answers">What you answer for each report</h2>
<h3>Does it belong to its theme? <kbd>y</kbd> / <kbd>n</kbd> / <kbd>u</kbd></h3>
<dl class="scale">{% for k, v in theme_guide.items() %}<dt>{{ k }}</dt><dd>{{ v }}</dd>{% endfor %}</dl>
<h3>Is the category right? <kbd>c</kbd> to confirm, or pick the right one</h3>
<p>Pick the category whose definition fits best, reading "what it is not". If none fits, choose <em>unmapped</em>.</p>
<h3>Severity <kbd>1</kbd>–<kbd>4</kbd>, <kbd>0</kbd> for none</h3>
<dl class="scale">{% for k, v in severity_guide.items() %}<dt>{{ k }}</dt><dd>{{ v }}</dd>{% endfor %}</dl>
<h3>Needs Met (only when the report has a query and a result)</h3>
<dl class="scale">{% for k, v in needs_met_guide.items() %}<dt>{{ k }}</dt><dd>{{ v }}</dd>{% endfor %}</dl>
{% for branch, nodes in branches %}
<h2 id="{{ branch.id }}">{{ branch.name }}</h2>
<p>{{ branch.description }}</p>
{% for node in nodes %}
<section class="node" id="node-{{ node.id }}">
<h3>{{ node.name }} <span class="sev sev-{{ node.severity or 'none' }}">{{ node.severity or "no severity" }}</span></h3>
<div class="id">{{ node.id }}</div>
<p class="definition">{{ node.description }}</p>
{% if node.excludes %}<p class="not"><strong>What it is not:</strong> {{ node.excludes }}</p>{% endif %}
{% if node.examples %}<p>Examples:</p>
<ul class="examples">{% for e in node.examples %}<li>{{ e }}</li>{% endfor %}</ul>{% endif %}
</section>
{% endfor %}
{% endfor %}
</body></html>
"""


def rater_guide_html(taxonomy: Taxonomy, *, inline: bool = True) -> str:
    """The guide for ``taxonomy``: answer scales, then every leaf grouped by branch, most severe first.

    ``inline``: one file that opens from disk (stylesheet inlined, allowed by hash); otherwise the
    stylesheet is linked from ``static/`` (as ``insights serve`` answers it)."""
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    leaves = taxonomy.leaves
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    branches: list[tuple[Any, list[Any]]] = []
    for branch in (n for n in taxonomy.nodes if n.parent is None):
        mine = [n for n in leaves if taxonomy.branch_of(n.id) == branch.id]
        mine.sort(key=lambda n: rank.get(n.severity or "", len(rank)))
        if mine:
            branches.append((branch, mine))
    css = (resources.files("pipeline.browse") / "static" / "guide.css").read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    return env.from_string(_TEMPLATE).render(
        taxonomy=taxonomy,
        leaves=leaves,
        branches=branches,
        css=Markup(css) if inline else None,
        style_src=f"'sha256-{digest}'" if inline else "'self'",
        theme_guide=THEME_GUIDE,
        severity_guide=SEVERITY_GUIDE,
        needs_met_guide=NEEDS_MET_GUIDE,
    )
