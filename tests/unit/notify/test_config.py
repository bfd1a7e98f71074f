"""Notifier configuration: validation, secrets from the environment, routing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.unit.notify.conftest import make_alert
from vigil.notify.config import PAGERDUTY_URL, load_notify_config, parse_notify_config, routes

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "notify.yaml"


def _config(*webhooks: dict[str, Any], **extra: Any) -> Any:
    return parse_notify_config({"webhooks": list(webhooks), **extra}, environ={})


def test_defaults() -> None:
    config = _config({"name": "s", "type": "slack", "url": "https://hooks.slack.com/x"})
    assert (config.max_attempts, config.backoff_initial_s, config.backoff_max_s,
            config.timeout_s) == (8, 1.0, 300.0, 10.0)
    hook = config.webhooks[0]
    assert hook.min_severity == "warning" and hook.projects is None


def test_the_example_file_loads() -> None:
    env = {"PD_ROUTING_KEY": "rk", "VIGIL_WEBHOOK_SECRET": "s3cret"}
    config = load_notify_config(EXAMPLE, environ=env)
    by_name = {w.name: w for w in config.webhooks}
    assert by_name["oncall-pagerduty"].url == PAGERDUTY_URL
    assert by_name["oncall-pagerduty"].routing_key.get_secret_value() == "rk"  # type: ignore[union-attr]
    assert by_name["incident-bot"].secret.get_secret_value() == "s3cret"  # type: ignore[union-attr]
    assert "s3cret" not in repr(config)


@pytest.mark.parametrize("doc, message", [
    ({"webhooks": [{"name": "x", "type": "teams", "url": "https://x"}]}, "type"),
    ({"webhooks": [{"name": "x", "type": "slack", "url": "https://x", "colour": 1}]},
     "colour"),
    ({"webhooks": [{"name": "x", "type": "slack"}]}, "url"),
    ({"webhooks": [{"name": "x", "type": "slack", "url": "ftp://x"}]}, "url"),
    ({"webhooks": [{"name": "x", "type": "generic", "url": "https://x"}]}, "secret"),
    ({"webhooks": [{"name": "x", "type": "pagerduty"}]}, "routing_key"),
    ({"webhooks": [{"name": "x", "type": "generic", "url": "https://x",
                    "secret_env": "NOPE"}]}, "NOPE is not set"),
    ({"webhooks": [{"name": "x", "type": "slack", "url": "https://x",
                    "min_severity": "urgent"}]}, "min_severity"),
    ({"webhooks": [{"name": "x", "type": "slack", "url": "https://x"},
                   {"name": "x", "type": "slack", "url": "https://y"}]}, "unique"),
    ({"max_attempts": 0}, "max_attempts"),
    ({"retries": 3}, "retries"),
])
def test_errors_name_the_file_and_the_problem(tmp_path: Path, doc: dict[str, Any],
                                              message: str) -> None:
    import yaml

    path = tmp_path / "notify.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ValueError, match=message) as err:
        load_notify_config(path, environ={})
    assert str(path) in str(err.value)


def test_unreadable_files_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"missing\.yaml"):
        load_notify_config(tmp_path / "missing.yaml")
    bad = tmp_path / "list.yaml"
    bad.write_text("- 1\n- 2\n")
    with pytest.raises(ValueError, match=r"list\.yaml: the notify config must be a mapping"):
        load_notify_config(bad)


def test_routes_by_severity_and_project() -> None:
    config = _config(
        {"name": "pd", "type": "pagerduty", "routing_key": "k", "min_severity": "critical"},
        {"name": "slack-a", "type": "slack", "url": "https://s/a", "projects": ["project-a"]},
        {"name": "all-info", "type": "generic", "url": "https://g", "secret": "s",
         "min_severity": "info"},
    )

    def names(**kw: Any) -> list[str]:
        return [w.name for w in routes(config, make_alert(**kw))]

    assert names(severity="critical") == ["pd", "slack-a", "all-info"]
    assert names(severity="warning") == ["slack-a", "all-info"]
    assert names(severity="info") == ["all-info"]
    assert names(severity="critical", project_id="project-b") == ["pd", "all-info"]
    assert names(severity="warning", status="resolved") == ["slack-a", "all-info"]
