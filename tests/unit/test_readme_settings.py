"""The README's settings table is what `vigil config --markdown` prints."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from vigil.launch.cli import app

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_lists_every_setting_as_the_cli_prints_it() -> None:
    printed = CliRunner().invoke(app, ["config", "--markdown"]).stdout.strip()
    assert printed.startswith("| variable | default | meaning |")
    assert printed in README.read_text(encoding="utf-8"), \
        "README.md's settings table is stale: paste `vigil config --markdown` into it"
