"""Notifier configuration: the on-call webhooks and the delivery policy (YAML).

Secrets may be written inline (`secret`, `routing_key`) or named by an environment
variable (`secret_env`, `routing_key_env`), resolved once when the file is loaded in the
environment given (the notifier passes `Settings.environ()`; none given: no variables).
Example: examples/notify.yaml.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from vigil.core.alerts import SEVERITY_RANK, AlertEvent, Severity

PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue"


class Webhook(BaseModel):
    """One destination; it gets the alerts at or above `min_severity` of its projects."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1)
    type: Literal["slack", "pagerduty", "generic"]
    url: str = ""
    secret: SecretStr | None = None
    secret_env: str | None = None
    routing_key: SecretStr | None = None
    routing_key_env: str | None = None
    min_severity: Severity = "warning"
    projects: list[str] | None = None  # None: every project

    @model_validator(mode="before")
    @classmethod
    def _from_env(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict):
            return data
        environ: Mapping[str, str] = (info.context or {}).get("environ", {})
        data = dict(data)
        for field in ("secret", "routing_key"):
            var = data.get(f"{field}_env")
            if var and data.get(field) is None:
                if not environ.get(var):
                    raise ValueError(f"{field}_env: the environment variable {var} is not set")
                data[field] = environ[var]
        if data.get("type") == "pagerduty" and not data.get("url"):
            data["url"] = PAGERDUTY_URL
        return data

    @model_validator(mode="after")
    def _complete(self) -> Webhook:
        if self.type == "pagerduty" and self.routing_key is None:
            raise ValueError("a pagerduty webhook needs routing_key or routing_key_env")
        if self.type == "generic" and self.secret is None:
            raise ValueError("a generic webhook needs secret or secret_env (it is signed)")
        if not self.url.startswith(("http://", "https://")):
            raise ValueError("url must be an http:// or https:// URL")
        return self

    def wants(self, alert: AlertEvent) -> bool:
        return (SEVERITY_RANK[alert.severity] >= SEVERITY_RANK[self.min_severity]
                and (self.projects is None or alert.project_id in self.projects))


class NotifyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    webhooks: list[Webhook] = Field(default_factory=list)
    max_attempts: int = Field(8, ge=1)
    backoff_initial_s: float = Field(1.0, gt=0)
    backoff_max_s: float = Field(300.0, gt=0)
    timeout_s: float = Field(10.0, gt=0)

    @model_validator(mode="after")
    def _unique_names(self) -> NotifyConfig:
        names = [w.name for w in self.webhooks]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"webhook names must be unique: {', '.join(twice)}")
        return self


def routes(config: NotifyConfig, alert: AlertEvent) -> list[Webhook]:
    """The webhooks that get this alert, in configuration order."""
    return [w for w in config.webhooks if w.wants(alert)]


def load_notify_config(path: Path | str, environ: Mapping[str, str] | None = None
                       ) -> NotifyConfig:
    """Read and validate the YAML file; ValueError naming the file on any problem."""
    try:
        doc = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read the notify config {path}: {exc}") from exc
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: the notify config must be a mapping")
    return parse_notify_config(doc, str(path), environ)


def parse_notify_config(doc: dict[str, Any], source: str = "<notify config>",
                        environ: Mapping[str, str] | None = None) -> NotifyConfig:
    context = {"environ": {} if environ is None else environ}
    try:
        return NotifyConfig.model_validate(doc, context=context)
    except ValidationError as exc:
        raise ValueError(f"{source}: {exc}") from exc
