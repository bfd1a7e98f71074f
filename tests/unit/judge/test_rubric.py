"""Versioned rubric files: listing, loading the latest or a given version."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.judge import rubric as rubric_module
from vigil.judge.rubric import Rubric, list_rubrics, load_rubric

SHIPPED = ("faithfulness", "format", "helpfulness", "safety")


def test_the_shipped_rubrics_are_listed() -> None:
    listed = list_rubrics()
    for name in SHIPPED:
        assert "1" in listed[name]


@pytest.mark.parametrize("name", SHIPPED)
def test_each_rubric_asks_for_the_verdict_json(name: str) -> None:
    rubric = load_rubric(name)
    assert (rubric.name, rubric.ref) == (name, f"{name}.v{rubric.version}")
    text = rubric.text
    for word in ('"score"', '"label"', '"rationale"', "JSON", "200 characters"):
        assert word in text, f"{rubric.ref} does not mention {word}"
    assert 300 < len(text) < 4000


@pytest.mark.parametrize("version", ["1", "v1", "V1", 1, " 1 "])
def test_a_version_can_be_named_several_ways(version: str | int) -> None:
    assert load_rubric("safety", version) == load_rubric("safety", "1")


@pytest.mark.parametrize(("name", "version", "message"), [
    ("helpfulnes", None, "no rubric named 'helpfulnes'"),
    ("../helpfulness", None, "no rubric named"),
    ("safety", "99", "has no version '99'"),
    ("safety", "latest", "known: \\['v1'"),
])
def test_unknown_rubrics_and_versions_are_lookup_errors(
        name: str, version: str | None, message: str) -> None:
    with pytest.raises(LookupError, match=message):
        load_rubric(name, version)


@pytest.fixture
def rubric_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(rubric_module, "_directory", lambda: tmp_path)
    return tmp_path


def test_latest_is_the_highest_version_number(rubric_dir: Path) -> None:
    for version in (1, 2, 10):
        (rubric_dir / f"tone.v{version}.md").write_text(f"tone {version}", encoding="utf-8")
    (rubric_dir / "tone.v0.md").write_text("not a version", encoding="utf-8")
    (rubric_dir / "tone.md").write_text("no version", encoding="utf-8")
    (rubric_dir / "README.txt").write_text("ignored", encoding="utf-8")
    assert list_rubrics() == {"tone": ["1", "2", "10"]}
    assert load_rubric("tone") == Rubric("tone", "10", "tone 10")
    assert load_rubric("tone", "v2").text == "tone 2"


def test_rubric_text_is_read_as_utf8(rubric_dir: Path) -> None:
    (rubric_dir / "ton.v1.md").write_bytes("Réponds en français — «merci»".encode())
    assert load_rubric("ton").text == "Réponds en français — «merci»"
