"""The generated catalogue and the README stay true to the registry."""

from __future__ import annotations

import pathlib

import zoo
from zoo.catalog import render_catalog

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_model_catalogue_is_current() -> None:
    path = ROOT / "docs" / "models.md"
    assert path.read_text() == render_catalog(), "docs/models.md is stale: run `make docs`"
    for name in zoo.list_models():
        assert f"### {name}" in path.read_text()


def test_readme_starts_with_the_two_commands() -> None:
    head = (ROOT / "README.md").read_text().split("\n## ")[0]
    assert "make demo" in head and "make test" in head
