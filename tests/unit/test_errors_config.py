"""Errors carry exit codes and locations; configuration rejects what it does not know."""

from __future__ import annotations

import pytest

from pipeline.config import RunConfig, load_config
from pipeline.errors import EXIT_INPUT, ConfigError, InputError, InsightsError, ModelError, where


def test_where_names_file_row_and_column():
    assert where("export.csv", 12, "text") == "export.csv row 12 column 'text'"
    assert where("export.csv") == "export.csv"
    assert where(None, 3) == "<input> row 3"


@pytest.mark.parametrize("error", [InputError, ConfigError, ModelError])
def test_user_errors_exit_with_the_input_code(error):
    assert issubclass(error, InsightsError)
    assert error("x").exit_code == EXIT_INPUT == 2


def test_defaults_load_without_a_file():
    config = load_config()
    assert config == RunConfig()
    assert config.seed == 42


def test_toml_file_then_overrides(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('seed = 5\n[ingest]\ntext_col = "comment"\n[cluster]\nmin_cluster_size = 9\n')
    config = load_config(path, {"cluster.min_cluster_size": 12, "ingest.id_col": None})
    assert (config.seed, config.ingest.text_col, config.cluster.min_cluster_size) == (5, "comment", 12)
    assert config.ingest.id_col is None  # None means "not given", never "unset it"


def test_example_config_in_docs_is_valid():
    from conftest import REPO

    load_config(REPO / "docs" / "run.example.toml")


def test_unknown_key_lists_the_valid_ones():
    with pytest.raises(ConfigError, match=r"'cluster.min_size'.*min_cluster_size"):
        RunConfig().with_overrides({"cluster.min_size": 3})


def test_unknown_key_in_a_file_is_rejected(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text("[embed]\nmodle = 'x'\n")
    with pytest.raises(ConfigError, match="modle"):
        load_config(path)


def test_invalid_value_names_the_key_and_value():
    with pytest.raises(ConfigError, match=r"cluster.reassign_threshold.*7"):
        RunConfig().with_overrides({"cluster.reassign_threshold": 7})


def test_invalid_toml_is_a_config_error(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text("seed = = 3\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)


def test_config_is_frozen():
    with pytest.raises(Exception):  # noqa: B017 - pydantic's ValidationError
        RunConfig().seed = 3  # type: ignore[misc]
