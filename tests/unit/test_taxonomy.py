"""The taxonomy file: the shipped default is complete, and a broken file fails on one line naming node and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.taxonomy import SEVERITIES, TaxonomyError, load_taxonomy

REQUIRED_LEAVES = {
    "safety": 20,
    "search_quality": 13,
    "product": 6,
}


def test_the_default_taxonomy_has_three_branches_with_the_agreed_nodes() -> None:
    taxonomy = load_taxonomy()
    counts: dict[str, int] = {}
    for leaf in taxonomy.leaves:
        counts[taxonomy.branch_of(leaf.id)] = counts.get(taxonomy.branch_of(leaf.id), 0) + 1
    assert set(counts) == set(REQUIRED_LEAVES)
    for branch, minimum in REQUIRED_LEAVES.items():
        assert counts[branch] >= minimum, branch
    names = {leaf.name.lower() for leaf in taxonomy.leaves}
    for expected in ("suicide and self-harm", "scams and fraud", "harmful results for a benign query", "praise"):
        assert expected in names


def test_every_leaf_is_described_with_examples_severity_and_a_hypothesis() -> None:
    taxonomy = load_taxonomy()
    for leaf in taxonomy.leaves:
        assert leaf.description and leaf.excludes, leaf.id
        assert len(leaf.examples) >= 4, leaf.id
        assert leaf.severity in SEVERITIES, leaf.id
        assert "{}" not in taxonomy.hypothesis(leaf.id)


def test_safety_leaves_crosswalk_to_public_taxonomies() -> None:
    taxonomy = load_taxonomy()
    mlcommons = {code for leaf in taxonomy.leaves for code in leaf.crosswalk_codes("mlcommons")}
    # every AILuminate v1.0 hazard has a home
    assert {"vcr", "src", "cse", "ssh", "iwp", "ipv", "dfm", "ncr", "hte", "prv", "sxc_prn"} <= mlcommons
    assert {"spc_ele", "spc_fin", "spc_hlt", "spc_lgl"} <= mlcommons
    assert taxonomy.node("safety.self_harm").crosswalk_codes("llama_guard") == ("S11",)


GOOD_NODE = "  - id: b\n    name: B\n    description: the b things\n    severity: low\n    examples: [b text]\n"


def write(tmp_path: Path, body: str, *, header: str = "id: t\nversion: '1'\nname: T\nnodes:\n") -> Path:
    path = tmp_path / "tax.yaml"
    path.write_text(header + body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "node", "field"),
    [
        ("  - id: a\n    description: d\n    severity: low\n    examples: [x]\n", "'a'", "'name'"),
        (
            "  - id: a\n    name: A\n    description: '  '\n    severity: low\n    examples: [x]\n",
            "'a'",
            "'description'",
        ),
        ("  - id: a\n    name: A\n    description: d\n    severity: urgent\n    examples: [x]\n", "'a'", "'severity'"),
        (
            "  - id: a\n    name: A\n    description: d\n    severity: low\n    examples: [x]\n    parent: zz\n",
            "'a'",
            "'parent'",
        ),
        ("  - id: b\n    name: A\n    description: d\n    severity: low\n    examples: [x]\n", "'b'", "'id'"),
        ("  - id: a\n    name: A\n    description: d\n    severity: low\n", "'a'", "'examples'"),
        (
            "  - id: a\n    name: A\n    description: d\n    severity: low\n    examples: [x]\n    colour: red\n",
            "'a'",
            "unknown",
        ),
    ],
    ids=["missing-name", "empty-description", "bad-severity", "unknown-parent", "duplicate-id", "no-examples", "typo"],
)
def test_a_broken_node_is_reported_with_file_node_and_field(tmp_path: Path, body: str, node: str, field: str) -> None:
    path = write(tmp_path, body + GOOD_NODE)
    with pytest.raises(TaxonomyError) as info:
        load_taxonomy(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message and f"node {node}" in message and field in message


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "  - id: a\n    name: [unclosed\n")
    with pytest.raises(TaxonomyError, match=r"tax\.yaml: invalid YAML at line \d+"):
        load_taxonomy(path)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(TaxonomyError, match=r"nope\.yaml: taxonomy file not found"):
        load_taxonomy(tmp_path / "nope.yaml")


def test_parents_group_and_only_leaves_are_classified(tmp_path: Path) -> None:
    body = (
        "  - id: g\n    name: G\n    description: group\n"
        + GOOD_NODE.replace("id: b", "id: g.a").replace("    severity", "    parent: g\n    severity")
        + GOOD_NODE
    )
    taxonomy = load_taxonomy(write(tmp_path, body))
    assert [leaf.id for leaf in taxonomy.leaves] == ["g.a", "b"]
    assert taxonomy.branch_of("g.a") == "g"
    assert taxonomy.path_of("g.a") == ["G", "B"]


def test_a_node_may_name_several_lexicons_and_term_files_beside_the_taxonomy(tmp_path: Path) -> None:
    (tmp_path / "terms.txt").write_text("# a comment\nquokka\n", encoding="utf-8")
    body = GOOD_NODE.replace("    severity", "    lexicon: [profanity, terms.txt]\n    severity") + GOOD_NODE.replace(
        "id: b", "id: c"
    )
    taxonomy = load_taxonomy(write(tmp_path, body))
    assert taxonomy.node("b").lexicon == ("profanity", str((tmp_path / "terms.txt").resolve()))
    assert taxonomy.node("c").lexicon == ()


@pytest.mark.parametrize("value", ["nope", "[profanity, missing.txt]"], ids=["unknown-name", "missing-file"])
def test_a_bad_lexicon_is_reported_with_the_node_and_field(tmp_path: Path, value: str) -> None:
    body = GOOD_NODE.replace("    severity", f"    lexicon: {value}\n    severity") + GOOD_NODE.replace(
        "id: b", "id: c"
    )
    with pytest.raises(TaxonomyError, match=r"node 'b' field 'lexicon'"):
        load_taxonomy(write(tmp_path, body))


def test_the_default_hate_node_reads_the_group_slur_term_file() -> None:
    from pipeline.classify.lexicon import lexicon_hits

    hate = load_taxonomy().node("safety.hate")
    assert any(name.endswith("group_slurs.txt") for name in hate.lexicon)
    hits = lexicon_hits(hate.lexicon, ["the results are fine today", "posting faggot in every comment"])
    assert hits.tolist() == [0.0, 1.0]


def test_a_node_may_set_its_own_lexicon_boost_within_zero_and_one(tmp_path: Path) -> None:
    body = GOOD_NODE.replace("    severity", "    lexicon: profanity\n    lexicon_boost: 0.6\n    severity")
    taxonomy = load_taxonomy(write(tmp_path, body + GOOD_NODE.replace("id: b", "id: c")))
    assert taxonomy.node("b").lexicon_boost == 0.6 and taxonomy.node("c").lexicon_boost is None
    with pytest.raises(TaxonomyError, match=r"node 'b' field 'lexicon_boost'"):
        load_taxonomy(write(tmp_path, body.replace("0.6", "2") + GOOD_NODE.replace("id: b", "id: c")))
