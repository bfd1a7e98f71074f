"""What `vigil up` hands its children: the dashboard's address for the links in alerts,
unless the user gave one (or runs no dashboard)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.launch.up import _child_env
from vigil.settings import Settings


@pytest.fixture(autouse=True)
def no_dashboard_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIGIL_DASHBOARD_URL", raising=False)


def settings(tmp_path: Path, **kw: object) -> Settings:
    return Settings(data_dir=tmp_path, internal_token="t", **kw)  # type: ignore[arg-type]


def test_alerts_link_to_the_dashboard_vigil_up_serves(tmp_path: Path) -> None:
    got, env = _child_env(settings(tmp_path, dashboard_listen="0.0.0.0:8600"), False)
    assert env["VIGIL_DASHBOARD_URL"] == got.dashboard_url == "http://127.0.0.1:8600"


def test_a_given_dashboard_url_wins_and_no_dashboard_means_no_links(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, env = _child_env(settings(tmp_path, dashboard_listen=""), False)
    assert "VIGIL_DASHBOARD_URL" not in env
    monkeypatch.setenv("VIGIL_DASHBOARD_URL", "https://vigil.example.com")
    got, env = _child_env(settings(tmp_path, dashboard_url="https://vigil.example.com"), False)
    assert env["VIGIL_DASHBOARD_URL"] == got.dashboard_url == "https://vigil.example.com"
