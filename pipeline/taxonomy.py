"""Taxonomies: the YAML file of safety / search-quality / product nodes that themes map into.

A taxonomy is a flat list of nodes; ``parent`` builds the tree and only **leaves** are classified
(a leaf's ancestors are implied). Every problem with a file is reported on one line naming the
file, the node and the field, e.g. ``my.yaml: node 'safety.hate' field 'severity': ...``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import InputError

__all__ = [
    "LEXICONS",
    "SEVERITIES",
    "Taxonomy",
    "TaxonomyError",
    "TaxonomyNode",
    "default_taxonomy_path",
    "load_taxonomy",
]

#: Severity levels, most urgent first.
SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low")
#: Built-in term lists a node may name in its ``lexicon`` field.
LEXICONS: tuple[str, ...] = ("profanity", "identity", "identity_attack")

_TOP_FIELDS = {"id", "version", "name", "description", "hypothesis_template", "nodes"}
_NODE_FIELDS = {
    "id",
    "parent",
    "name",
    "description",
    "excludes",
    "hypothesis",
    "examples",
    "severity",
    "crosswalk",
    "lexicon",
    "lexicon_boost",
    "rank_weight",
}


class TaxonomyError(InputError):
    """A taxonomy file that cannot be used; the message names the file, node and field."""


@dataclass(frozen=True)
class TaxonomyNode:
    """One node. Leaves carry examples and a severity; parents only group."""

    id: str
    name: str
    description: str
    parent: str | None = None
    excludes: str = ""
    hypothesis: str = ""
    examples: tuple[str, ...] = ()
    severity: str | None = None
    crosswalk: tuple[tuple[str, tuple[str, ...]], ...] = ()
    lexicon: tuple[str, ...] = ()
    lexicon_boost: float | None = None
    rank_weight: float | None = None

    def crosswalk_codes(self, source: str) -> tuple[str, ...]:
        """This node's codes in a public taxonomy (``"mlcommons"``, ``"llama_guard"``...)."""
        return dict(self.crosswalk).get(source, ())

    @property
    def prototype_texts(self) -> list[str]:
        """What the embedding classifier compares texts with: the definition, then each example."""
        return [f"{self.name}: {self.description}", *self.examples]


@dataclass(frozen=True)
class Taxonomy:
    """A validated taxonomy: nodes in file order, plus the derived tree."""

    id: str
    version: str
    name: str
    description: str
    hypothesis_template: str
    nodes: tuple[TaxonomyNode, ...]
    source: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {n.id: n for n in self.nodes})

    def node(self, node_id: str) -> TaxonomyNode:
        return self._by_id[node_id]  # type: ignore[attr-defined]

    @property
    def leaves(self) -> list[TaxonomyNode]:
        """The classifiable nodes, in file order."""
        parents = {n.parent for n in self.nodes if n.parent}
        return [n for n in self.nodes if n.id not in parents]

    def branch_of(self, node_id: str) -> str:
        """The top-level ancestor's id (``safety``, ``search_quality``, ``product``...)."""
        node = self.node(node_id)
        while node.parent:
            node = self.node(node.parent)
        return node.id

    def path_of(self, node_id: str) -> list[str]:
        """Names from the branch down to the node, for display."""
        names = []
        node: TaxonomyNode | None = self.node(node_id)
        while node is not None:
            names.append(node.name)
            node = self.node(node.parent) if node.parent else None
        return names[::-1]

    def hypothesis(self, node_id: str) -> str:
        """The NLI hypothesis sentence for a leaf."""
        node = self.node(node_id)
        return self.hypothesis_template.format(node.hypothesis or node.name.lower())

    def to_frame(self) -> Any:
        """One row per node (id, parent, branch, name, severity, leaf, examples, crosswalk), for display."""
        import pandas as pd

        leaf_ids = {n.id for n in self.leaves}
        return pd.DataFrame(
            [
                {
                    "id": n.id,
                    "parent": n.parent,
                    "branch": self.branch_of(n.id),
                    "name": n.name,
                    "severity": n.severity,
                    "leaf": n.id in leaf_ids,
                    "examples": len(n.examples),
                    "crosswalk": "; ".join(f"{k}: {', '.join(v)}" for k, v in n.crosswalk if v),
                }
                for n in self.nodes
            ]
        )


def default_taxonomy_path() -> Path:
    """The shipped default, ``taxonomies/trust_safety_search.yaml``."""
    from taxonomies import DEFAULT_TAXONOMY

    return DEFAULT_TAXONOMY


def _text(value: Any, where: str, field: str, *, required: bool = True) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise TaxonomyError(f"{where} field {field!r}: missing or empty; write a non-empty string.")
        return ""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise TaxonomyError(f"{where} field {field!r}: expected a string, got {type(value).__name__}.")
    return " ".join(str(value).split())


def _lexicons(value: Any, where: str, base: Path) -> tuple[str, ...]:
    """A node's lexicons: built-in names, or term files (``.txt``, one term a line) relative to the taxonomy."""
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
        raise TaxonomyError(f"{where} field 'lexicon': expected a name or a list of names, got {value!r}.")
    out = []
    for item in items:
        if item in LEXICONS:
            out.append(item)
        elif item.endswith(".txt"):
            file = (base / item).resolve()
            if not file.is_file():
                raise TaxonomyError(f"{where} field 'lexicon': term file {item!r} not found (looked for {file}).")
            out.append(str(file))
        else:
            raise TaxonomyError(
                f"{where} field 'lexicon': {item!r} is neither a built-in lexicon {list(LEXICONS)} "
                "nor a term file ending in .txt."
            )
    return tuple(out)


def _node(raw: Any, index: int, source: str, base: Path) -> TaxonomyNode:
    if not isinstance(raw, dict):
        raise TaxonomyError(f"{source}: node #{index + 1}: expected a mapping of fields, got {type(raw).__name__}.")
    node_id = raw.get("id")
    if not isinstance(node_id, str) or not node_id.strip():
        raise TaxonomyError(f"{source}: node #{index + 1} field 'id': missing or not a string.")
    where = f"{source}: node {node_id!r}"
    unknown = sorted(set(raw) - _NODE_FIELDS)
    if unknown:
        raise TaxonomyError(f"{where}: unknown field(s) {unknown}; valid fields: {sorted(_NODE_FIELDS)}.")
    severity = raw.get("severity")
    if severity is not None and severity not in SEVERITIES:
        raise TaxonomyError(f"{where} field 'severity': {severity!r} is not one of {list(SEVERITIES)}.")
    examples = raw.get("examples") or []
    if not isinstance(examples, list):
        raise TaxonomyError(f"{where} field 'examples': expected a list of strings.")
    crosswalk = raw.get("crosswalk") or {}
    if not isinstance(crosswalk, dict):
        raise TaxonomyError(f"{where} field 'crosswalk': expected a mapping such as {{mlcommons: [vcr]}}.")
    walk: list[tuple[str, tuple[str, ...]]] = []
    for key, codes in crosswalk.items():
        codes = codes or []
        if isinstance(codes, str):
            codes = [codes]
        if not isinstance(codes, list) or not all(isinstance(c, (str, int)) for c in codes):
            raise TaxonomyError(f"{where} field 'crosswalk.{key}': expected a list of codes.")
        walk.append((str(key), tuple(str(c) for c in codes)))
    lexicon = _lexicons(raw.get("lexicon"), where, base)
    lexicon_boost = raw.get("lexicon_boost")
    if lexicon_boost is not None and (
        isinstance(lexicon_boost, bool) or not isinstance(lexicon_boost, (int, float)) or not 0 <= lexicon_boost <= 1
    ):
        raise TaxonomyError(f"{where} field 'lexicon_boost': expected a number in [0, 1], got {lexicon_boost!r}.")
    rank_weight = raw.get("rank_weight")
    if rank_weight is not None and (
        isinstance(rank_weight, bool) or not isinstance(rank_weight, (int, float)) or rank_weight <= 0
    ):
        raise TaxonomyError(f"{where} field 'rank_weight': expected a positive number, got {rank_weight!r}.")
    parent = raw.get("parent")
    if parent is not None and not isinstance(parent, str):
        raise TaxonomyError(f"{where} field 'parent': expected a node id string.")
    return TaxonomyNode(
        id=node_id.strip(),
        name=_text(raw.get("name"), where, "name"),
        description=_text(raw.get("description"), where, "description"),
        parent=parent,
        excludes=_text(raw.get("excludes"), where, "excludes", required=False),
        hypothesis=_text(raw.get("hypothesis"), where, "hypothesis", required=False),
        examples=tuple(_text(e, where, f"examples[{i}]") for i, e in enumerate(examples)),
        severity=severity,
        crosswalk=tuple(walk),
        lexicon=lexicon,
        lexicon_boost=float(lexicon_boost) if lexicon_boost is not None else None,
        rank_weight=float(rank_weight) if rank_weight is not None else None,
    )


def _check_tree(nodes: list[TaxonomyNode], source: str) -> None:
    by_id: dict[str, TaxonomyNode] = {}
    for node in nodes:
        if node.id in by_id:
            raise TaxonomyError(f"{source}: node {node.id!r} field 'id': duplicate id (ids must be unique).")
        by_id[node.id] = node
    for node in nodes:
        if node.parent is not None and node.parent not in by_id:
            raise TaxonomyError(f"{source}: node {node.id!r} field 'parent': unknown parent {node.parent!r}.")
        seen = {node.id}
        cursor = node
        while cursor.parent:
            if cursor.parent in seen:
                raise TaxonomyError(f"{source}: node {node.id!r} field 'parent': the parents form a cycle.")
            seen.add(cursor.parent)
            cursor = by_id[cursor.parent]
    parents = {n.parent for n in nodes if n.parent}
    leaves = [n for n in nodes if n.id not in parents]
    for leaf in leaves:
        where = f"{source}: node {leaf.id!r}"
        if leaf.severity is None:
            raise TaxonomyError(f"{where} field 'severity': a leaf needs one of {list(SEVERITIES)}.")
        if not leaf.examples:
            raise TaxonomyError(f"{where} field 'examples': a leaf needs at least one example phrasing.")
    if len(leaves) < 2:
        raise TaxonomyError(f"{source}: field 'nodes': a taxonomy needs at least two leaf nodes.")


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Read and validate a taxonomy file (default: the shipped trust & safety / search one)."""
    path = Path(path) if path is not None else default_taxonomy_path()
    source = str(path)
    if not path.is_file():
        raise TaxonomyError(f"{source}: taxonomy file not found.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise TaxonomyError(f"{source}: invalid YAML{at}: {problem}.") from None
    except UnicodeDecodeError:
        raise TaxonomyError(f"{source}: not UTF-8 text.") from None
    if not isinstance(data, dict):
        raise TaxonomyError(f"{source}: expected a mapping with 'id', 'version', 'name' and 'nodes' at the top.")
    unknown = sorted(set(data) - _TOP_FIELDS)
    if unknown:
        raise TaxonomyError(f"{source}: unknown top-level field(s) {unknown}; valid: {sorted(_TOP_FIELDS)}.")
    for field in ("id", "version", "name"):
        _text(data.get(field), source, field)
    template = _text(data.get("hypothesis_template") or "This feedback is about {}.", source, "hypothesis_template")
    if "{}" not in template:
        raise TaxonomyError(f"{source} field 'hypothesis_template': must contain '{{}}' where the node goes.")
    raw_nodes = data.get("nodes")
    if not isinstance(raw_nodes, list) or not raw_nodes:
        raise TaxonomyError(f"{source} field 'nodes': missing or empty; expected a list of nodes.")
    nodes = [_node(raw, i, source, path.resolve().parent) for i, raw in enumerate(raw_nodes)]
    _check_tree(nodes, source)
    return Taxonomy(
        id=str(data["id"]),
        version=str(data["version"]),
        name=_text(data["name"], source, "name"),
        description=_text(data.get("description"), source, "description", required=False),
        hypothesis_template=template,
        nodes=tuple(nodes),
        source=source,
    )
