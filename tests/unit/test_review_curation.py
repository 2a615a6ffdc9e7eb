"""curation.yaml: validated actions, merges followed to their target, names and nodes applied, re-ranked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.cluster import Clustered
from pipeline.errors import InputError
from pipeline.review.curation import apply_curation, load_curation, merge_labels, update_curation
from pipeline.taxonomy import load_taxonomy

TAXONOMY = load_taxonomy(None)
LEAVES = {n.id for n in TAXONOMY.leaves}
THEME_IDS = {0, 1, 2, 3}


def test_actions_are_saved_as_readable_yaml_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "curation.yaml"
    update_curation(path, {"action": "rename", "theme_id": 1, "label": "  Password   reset "}, THEME_IDS, LEAVES)
    update_curation(path, {"action": "merge", "theme_ids": [2, 3], "into": 1}, THEME_IDS, LEAVES)
    update_curation(path, {"action": "actionable", "theme_id": 0, "value": False}, THEME_IDS, LEAVES)
    update_curation(path, {"action": "node", "theme_id": 1, "node": "product.account_login"}, THEME_IDS, LEAVES)
    text = path.read_text(encoding="utf-8")
    assert "label: Password reset" in text and "merged_into: 1" in text
    curation = load_curation(path, LEAVES)
    assert curation.merges() == {2: 1, 3: 1}
    assert curation.themes[0].actionable is False and curation.themes[1].node == "product.account_login"


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ({"action": "rename", "theme_id": 99, "label": "x"}, "no theme '99'"),
        ({"action": "rename", "theme_id": 1, "label": ""}, "'label' must be"),
        ({"action": "merge", "theme_ids": [1], "into": 1}, "into itself"),
        ({"action": "node", "theme_id": 1, "node": "safety.nope"}, "leaf of the taxonomy"),
        ({"action": "explode", "theme_id": 1}, "'action' must be"),
        ({"action": "actionable", "theme_id": 1, "value": "no"}, "true or false"),
    ],
)
def test_invalid_actions_are_refused_and_nothing_is_written(tmp_path: Path, action: dict, message: str) -> None:
    path = tmp_path / "curation.yaml"
    with pytest.raises(InputError, match=message):
        update_curation(path, action, THEME_IDS, LEAVES)
    assert not path.exists()


def test_a_merge_cycle_is_refused_before_it_is_written(tmp_path: Path) -> None:
    path = tmp_path / "curation.yaml"
    update_curation(path, {"action": "merge", "theme_ids": [2], "into": 1}, THEME_IDS, LEAVES)
    before = path.read_text(encoding="utf-8")
    with pytest.raises(InputError, match="cycle"):
        update_curation(path, {"action": "merge", "theme_ids": [1], "into": 2}, THEME_IDS, LEAVES)
    assert path.read_text(encoding="utf-8") == before


def test_a_hand_edited_file_with_an_unknown_field_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "curation.yaml"
    path.write_text("themes:\n  1: {labell: typo}\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"curation\.yaml: not a valid curation file"):
        load_curation(path, LEAVES)


def test_merged_themes_take_the_target_id_outliers_untouched(tmp_path: Path) -> None:
    path = tmp_path / "curation.yaml"
    update_curation(path, {"action": "merge", "theme_ids": [2], "into": 1}, THEME_IDS, LEAVES)
    update_curation(path, {"action": "merge", "theme_ids": [3], "into": 2}, THEME_IDS, LEAVES)  # chain 3 -> 2 -> 1
    labels = np.array([0, 1, 2, 3, -1])
    merged = merge_labels(Clustered(labels, labels.copy(), np.ones(5)), load_curation(path))
    assert merged.labels.tolist() == [0, 1, 1, 1, -1] and merged.reassigned.tolist() == [0, 1, 1, 1, -1]


def test_names_nodes_and_not_actionable_are_applied_and_the_table_re_ranked(tmp_path: Path) -> None:
    path = tmp_path / "curation.yaml"
    update_curation(path, {"action": "rename", "theme_id": 1, "label": "Curated name"}, THEME_IDS, LEAVES)
    update_curation(path, {"action": "actionable", "theme_id": 0, "value": False}, THEME_IDS, LEAVES)
    update_curation(path, {"action": "node", "theme_id": 1, "node": "safety.self_harm"}, THEME_IDS, LEAVES)
    themes = pd.DataFrame(
        {"rank": [1, 2], "theme_id": [0, 1], "label": ["A", "B"], "size": [50, 10], "volume_score": [0.5, 0.1],
         "severity_weight": [1.0, 1.0], "trend_weight": [1.0, 1.0], "priority": [0.5, 0.1],
         "category_id": [None, None], "category": ["Unmapped"] * 2, "branch": [None, None],
         "severity": ["none"] * 2, "category_confidence": [0.1, 0.1]}
    )  # fmt: skip
    out = apply_curation(themes, load_curation(path), TAXONOMY, {"critical": 4.0, "none": 1.0})
    first = out.iloc[0]
    assert (first["theme_id"], first["label"], first["category_id"], first["severity"]) == (
        1, "Curated name", "safety.self_harm", "critical"
    )  # fmt: skip
    assert first["priority"] == pytest.approx(0.4) and set(first["curated"]) == {"label", "node"}
    assert out.iloc[1]["actionable"] is np.False_ or out.iloc[1]["actionable"] is False
    assert out.iloc[1]["priority"] == pytest.approx(0.125) and list(out["rank"]) == [1, 2]
