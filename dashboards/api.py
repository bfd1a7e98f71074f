"""A tiny typed client of Vigil's read API, for the dashboard (it never reads ClickHouse)."""

from __future__ import annotations

import os
import ssl
from typing import Any
from urllib.parse import quote

import httpx

DEFAULT_URL = "http://127.0.0.1:8700"

JSON = dict[str, Any]


class ApiError(Exception):
    """The read API failed or could not be reached; the message is meant for people."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class VigilApi:
    def __init__(self, base_url: str | None = None, api_key: str | None = None,
                 timeout: float = 10.0) -> None:
        self.base_url = (base_url or os.environ.get("VIGIL_API_URL") or DEFAULT_URL).rstrip("/")
        # No key configured: the page asks for one (common.page); never a default key.
        self.api_key = api_key or os.environ.get("VIGIL_API_KEY") or ""
        self.timeout = timeout
        ca_file = os.environ.get("VIGIL_TLS_CA_FILE")  # a private CA of an https:// API
        self.verify: ssl.SSLContext | bool = (ssl.create_default_context(cafile=ca_file)
                                              if ca_file else True)

    def _request(self, method: str, path: str, params: dict[str, Any] | None = None
                 ) -> httpx.Response:
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        try:
            resp = httpx.request(method, f"{self.base_url}{path}", params=clean,
                                 headers={"Authorization": f"Bearer {self.api_key}"},
                                 timeout=self.timeout, verify=self.verify)
        except httpx.HTTPError as exc:
            raise ApiError(f"cannot reach the Vigil read API at {self.base_url}: {exc}. "
                           "Is it running (`vigil api`) and is VIGIL_API_URL right?") from exc
        if resp.status_code >= 400:
            raise ApiError(f"the read API answered {resp.status_code} on {path}: "
                           f"{_detail(resp)}", resp.status_code)
        return resp

    def _json(self, method: str, path: str, params: dict[str, Any] | None = None) -> JSON:
        resp = self._request(method, path, params)
        try:
            body = resp.json()
        except ValueError as exc:
            raise ApiError(f"the read API sent no JSON on {path}") from exc
        if not isinstance(body, dict):
            raise ApiError(f"the read API sent unexpected JSON on {path}")
        return body

    # --- reads (`scope`: the time window and slice filters every page shares) -------------
    def stats(self) -> JSON:
        return self._json("GET", "/v1/stats")

    def overview(self, scope: dict[str, Any]) -> JSON:
        return self._json("GET", "/v1/overview", scope)

    def slices(self, hours: float) -> JSON:
        return self._json("GET", "/v1/slices", {"hours": hours})

    def breakdown(self, dimension: str, scope: dict[str, Any], limit: int = 50) -> list[JSON]:
        return self._json("GET", f"/v1/breakdown/{dimension}",
                          {**scope, "limit": limit}).get("rows", [])

    def timeseries(self, metric: str, scope: dict[str, Any], interval: str = "hour",
                   group_by: str | None = None, evaluator: str | None = None) -> list[JSON]:
        return self._json("GET", f"/v1/timeseries/{metric}", {
            **scope, "interval": interval, "group_by": group_by,
            "evaluator": evaluator}).get("points", [])

    def judge_sampling(self, scope: dict[str, Any], group_by: str = "app") -> list[JSON]:
        return self._json("GET", "/v1/judge/sampling",
                          {**scope, "group_by": group_by}).get("slices", [])

    def scores(self, scope: dict[str, Any], evaluator: str | None = None) -> JSON:
        return self._json("GET", "/v1/scores", {**scope, "evaluator": evaluator})

    def compare(self, scope: dict[str, Any], dimension: str, metric: str,
                evaluator: str | None = None, a: str | None = None, b: str | None = None
                ) -> JSON:
        return self._json("GET", "/v1/compare", {**scope, "dimension": dimension,
                                                 "metric": metric, "evaluator": evaluator,
                                                 "a": a, "b": b})

    def budgets(self) -> list[JSON]:
        return self._json("GET", "/v1/budgets").get("budgets", [])

    def search_traces(self, scope: dict[str, Any], limit: int = 50,
                      cursor: str | None = None, **filters: Any) -> JSON:
        return self._json("GET", "/v1/traces", {**scope, **filters, "limit": limit,
                                                "cursor": cursor})

    def trace(self, trace_id: str) -> JSON:
        return self._json("GET", f"/v1/traces/{quote(trace_id, safe='')}")

    def session(self, session_id: str) -> JSON:
        return self._json("GET", f"/v1/sessions/{quote(session_id, safe='')}")

    def alerts(self, status: str | None = None) -> list[JSON]:
        return self._json("GET", "/v1/alerts", {"status": status}).get("alerts", [])

    def tickets(self, status: str | None = None) -> list[JSON]:
        return self._json("GET", "/v1/tickets", {"status": status}).get("tickets", [])

    def ticket(self, ticket_id: str) -> JSON:
        return self._json("GET", f"/v1/tickets/{ticket_id}")

    def ticket_action(self, ticket_id: str, action: str) -> JSON:
        if action not in ("acknowledge", "resolve"):
            raise ValueError(f"unknown ticket action {action!r}")
        return self._json("POST", f"/v1/tickets/{ticket_id}/{action}")

    def ticket_dataset(self, ticket_id: str, fmt: str = "jsonl") -> bytes:
        return self._request("GET", f"/v1/tickets/{ticket_id}/dataset",
                             {"format": fmt}).content

    def drift_reports(self, hours: float = 24) -> list[JSON]:
        return self._json("GET", "/v1/drift/reports", {"hours": hours}).get("reports", [])

    def drift_features(self, scope: dict[str, Any]) -> list[JSON]:
        return self._json("GET", "/v1/drift/features", scope).get("points", [])

    def drift_html(self, report_id: str) -> str:
        return self._request("GET", f"/v1/drift/reports/{report_id}/html").text


def _detail(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:300] or resp.reason_phrase
    if isinstance(body, dict) and "detail" in body:
        detail = body["detail"]
        return detail if isinstance(detail, str) else str(detail)
    return str(body)[:300]
