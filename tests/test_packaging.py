"""A plain (non-editable) install ships every package and data file.

Editable installs find subpackages on their own; `pip install .` only ships
what pyproject.toml lists, so a forgotten package breaks the README's first
command on a fresh machine while every other test still passes."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[1]


def configured() -> tuple[list[str], dict[str, str]]:
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return settings["packages"], settings["package-dir"]


def test_every_python_package_is_listed() -> None:
    packages, folders = configured()
    for package, folder in folders.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder)
            name = ".".join((package, *relative.parts)) if relative.parts else package
            assert name in packages, f"{name} ({init.parent}) is not in [tool.setuptools] packages"


def test_data_files_are_package_data() -> None:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]
    assert "lifecycle.json" in data["collector"]
    assert {"*.json", "*.yaml"} <= set(data["collector.schemas"])
