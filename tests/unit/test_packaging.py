"""The wheel holds every package and data file the code loads (an editable install would hide a gap)."""

from __future__ import annotations

import fnmatch
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


def _packages_on_disk() -> set[str]:
    found = set()
    for top in ("pipeline", "models", "taxonomies"):
        for init in (ROOT / top).rglob("__init__.py"):
            found.add(".".join(init.parent.relative_to(ROOT).parts))
    return found


def test_every_package_on_disk_is_listed_in_pyproject():
    assert _packages_on_disk() - set(SETUPTOOLS["packages"]) == set()


def test_every_taxonomy_data_file_is_package_data():
    patterns = SETUPTOOLS["package-data"]["taxonomies"]
    root = ROOT / "taxonomies"
    data = [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")]
    missed = [name for name in data if not any(fnmatch.fnmatch(name, pattern) for pattern in patterns)]
    assert data and missed == []
