"""The read API over a real embedded store, through real HTTP: auth, project isolation,
filters, pagination, A/B comparison, budgets, ticket actions, and bad parameters that
get a 4xx with a reason (never a 5xx)."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from tests.support.api_seed import KEY_A, KEY_B, SECRET, ApiServer, Seeded, seeded_api
from tests.support.chaos import chaos, record_fault
from vigil.access.keyring import KeyRing
from vigil.api.app import create_app
from vigil.core.budgets import Budget, period_bounds
from vigil.store.client import Store


@pytest.fixture(scope="module")
def seeded(store_dir: Path) -> Iterator[tuple[ApiServer, Seeded, Store]]:
    with seeded_api(store_dir, "read_api_tests", [
            Budget(project="alpha", period="day", limit_usd=0.5),
            Budget(project="beta", period="day", limit_usd=1000)]) as seeded:
        yield seeded


@pytest.fixture(scope="module")
def api(seeded: tuple[ApiServer, Seeded, Store]) -> ApiServer:
    return seeded[0]


@pytest.fixture(scope="module")
def data(seeded: tuple[ApiServer, Seeded, Store]) -> Seeded:
    return seeded[1]


def get(api: ApiServer, path: str, key: str | None = KEY_A, **params: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.get(f"{api.url}{path}", params=params, headers=headers, timeout=30)


def ok(api: ApiServer, path: str, key: str = KEY_A, **params: Any) -> Any:
    resp = get(api, path, key, **params)
    assert resp.status_code == 200, (path, resp.status_code, resp.text)
    return resp.json()


# Every read route, with its path parameters filled for project alpha.
READS = ["/v1/stats", "/v1/overview", "/v1/breakdown/model", "/v1/traces",
         "/v1/traces/a-tr-0001", "/v1/sessions/a-sess-01", "/v1/scores", "/v1/feedback",
         "/v1/compare", "/v1/slices", "/v1/timeseries/traffic", "/v1/judge/sampling",
         "/v1/budgets", "/v1/alerts", "/v1/tickets", "/v1/tickets/ticket-alpha-1",
         "/v1/tickets/ticket-alpha-1/dataset", "/v1/drift/reports", "/v1/drift/features",
         "/v1/prompts", "/v1/prompts/greet", "/v1/prompts/greet/history",
         "/v1/prompts/greet/diff", "/v1/prompts/greet/rollouts/production",
         "/v1/prompts/greet/delivery"]


def test_every_read_route_is_listed_here(api: ApiServer) -> None:
    spec = httpx.get(f"{api.url}/openapi.json", timeout=10).json()
    gets = {p for p, ops in spec["paths"].items() if "get" in ops and p.startswith("/v1/")}
    filled = {p.replace("a-tr-0001", "{trace_id}").replace("a-sess-01", "{session_id}")
              .replace("ticket-alpha-1", "{ticket_id}").replace("/model", "/{dimension}")
              .replace("/traffic", "/{metric}").replace("/greet", "/{name}")
              .replace("/rollouts/production", "/rollouts/{label}") for p in READS}
    assert gets - filled == {"/v1/drift/reports/{report_id}/html"}


@pytest.mark.parametrize("path", READS)
@pytest.mark.parametrize("key", [None, "wrong-key", "Bearer"])
def test_reads_need_a_known_key(api: ApiServer, path: str, key: str | None) -> None:
    resp = get(api, path, key)
    assert resp.status_code == 401
    assert "API key" in resp.json()["detail"]


@pytest.mark.parametrize("path", READS)
def test_reads_answer_with_a_known_key(api: ApiServer, path: str) -> None:
    ok(api, path)


def test_overview_numbers_match_the_seeded_data(api: ApiServer, data: Seeded) -> None:
    body = ok(api, "/v1/overview", hours=3)
    cur = body["current"]
    assert cur["traces"] == 600
    assert cur["sessions"] == 60 and cur["users"] == 7
    assert cur["errors"] == 30 and cur["error_rate"] == pytest.approx(0.05)
    assert cur["cost_usd"] == pytest.approx(sum(t["total_cost"] for t in data.traces))
    assert cur["judgments"] == 600
    assert cur["mean_score"] == pytest.approx(statistics.mean(s["score"] for s in data.scores))
    assert cur["feedback"] == len(data.feedback)
    assert cur["thumbs_down"] == sum(1 for f in data.feedback if f["value"] < 0.5)
    assert body["previous"]["traces"] == 0 and body["previous"]["mean_score"] is None

    chat = ok(api, "/v1/overview", hours=3, app="chat")["current"]
    assert chat["traces"] == sum(1 for t in data.traces if t["app"] == "chat")
    chat_ids = {t["trace_id"] for t in data.traces if t["app"] == "chat"}
    assert chat["feedback"] == sum(1 for f in data.feedback if f["trace_id"] in chat_ids)


def test_breakdown_by_prompt_version(api: ApiServer, data: Seeded) -> None:
    rows = {r["value"]: r for r in ok(api, "/v1/breakdown/prompt_version", hours=3)["rows"]}
    assert set(rows) == {"v1", "v2"}
    for version in ("v1", "v2"):
        mine = [s["score"] for s in data.scores if s["version"] == version]
        assert rows[version]["traces"] == 300
        assert rows[version]["judgments"] == 300
        assert rows[version]["mean_score"] == pytest.approx(statistics.mean(mine))
    users = ok(api, "/v1/breakdown/user", hours=3)["rows"]
    assert sorted(r["value"] for r in users) == [f"user-{i}" for i in range(7)]


def test_trace_search_pages_through_everything_once(api: ApiServer) -> None:
    seen: list[dict[str, Any]] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"hours": 3, "limit": 70}
        if cursor:
            params["cursor"] = cursor
        body = ok(api, "/v1/traces", **params)
        seen += body["traces"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert pages < 20, "the cursor does not advance"
    ids = [t["event_id"] for t in seen]
    assert len(ids) == 600 and len(set(ids)) == 600 and pages == 9
    times = [t["start_time"] for t in seen]
    assert times == sorted(times, reverse=True)


@pytest.mark.parametrize(("params", "expected"), [
    ({"status": "error"}, lambda t: t["status"] == "error"),
    ({"app": "search"}, lambda t: t["app"] == "search"),
    ({"app": "chat", "model": "m2"}, lambda t: t["app"] == "chat" and t["model"] == "m2"),
    ({"prompt_version": "v2", "user_id": "user-3"},
     lambda t: t["prompt_template_version"] == "v2" and t["user_id"] == "user-3"),
    ({"q": "REFUNDS"}, lambda t: "refunds" in t["prompt"]),
    ({"min_latency_ms": 145}, lambda t: t["latency_ms"] >= 145),
    ({"session_id": "a-sess-07"}, lambda t: t["session_id"] == "a-sess-07"),
])
def test_trace_search_filters(api: ApiServer, data: Seeded, params: dict[str, Any],
                              expected: Any) -> None:
    found = ok(api, "/v1/traces", hours=3, limit=1000, **params)["traces"]
    want = {t["event_id"] for t in data.traces if expected(t)}
    assert want, "the filter case selects nothing: it would prove nothing"
    assert {t["event_id"] for t in found} == want


def test_session_view_is_the_whole_conversation(api: ApiServer, data: Seeded) -> None:
    body = ok(api, "/v1/sessions/a-sess-03")
    mine = [t for t in data.traces if t["session_id"] == "a-sess-03"]
    assert [c["event_id"] for c in body["calls"]] == [t["event_id"] for t in mine]
    assert [c["prompt"] for c in body["calls"]] == [t["prompt"] for t in mine]
    assert len(body["scores"]) == 10
    ids = {t["trace_id"] for t in mine}
    assert len(body["feedback"]) == sum(1 for f in data.feedback if f["trace_id"] in ids)


def test_prompt_versions_compared_with_a_significance_test(api: ApiServer) -> None:
    body = ok(api, "/v1/compare", hours=3, dimension="prompt_version", metric="score",
              a="v1", b="v2")
    assert {v["variant"]: v["n"] for v in body["variants"]} == {"v1": 300, "v2": 300}
    result = body["comparison"]
    assert result["test"] == "welch_t" and result["significant"] is True
    assert result["p_value"] < 1e-6
    assert result["difference"] == pytest.approx(-0.3, abs=0.02)
    assert result["verdict"].startswith("v1 is better")

    # Same model on both sides of a split that does not matter: no significant difference.
    same = ok(api, "/v1/compare", hours=3, dimension="environment", metric="error_rate")
    assert same["comparison"] is None  # one environment only: nothing to compare
    thumbs = ok(api, "/v1/compare", hours=3, metric="thumbs_up", a="v1", b="v2")
    assert thumbs["comparison"]["test"] in ("chi2", "fisher_exact")
    assert thumbs["comparison"]["significant"] is True


def test_budget_burn_and_forecast(api: ApiServer, data: Seeded) -> None:
    body = ok(api, "/v1/budgets")
    assert [b["name"] for b in body["budgets"]] == ["alpha/all apps daily budget"]
    budget = body["budgets"][0]
    start, _ = period_bounds("day", data.now)
    spent = sum(t["total_cost"] for t in data.traces if t["start_time"] >= start)
    assert budget["spent_usd"] == pytest.approx(spent)
    assert budget["burn"][-1]["cumulative_usd"] == pytest.approx(spent)
    assert budget["forecast_usd"] >= budget["spent_usd"]


def test_a_key_sees_its_own_project_only(api: ApiServer, data: Seeded) -> None:
    assert ok(api, "/v1/stats", KEY_B)["traces"] == 50
    assert ok(api, "/v1/stats")["traces"] == 600
    for path in (f"/v1/traces/{data.beta_trace_ids[0]}", "/v1/sessions/b-sess-1",
                 f"/v1/tickets/{data.beta_ticket}", f"/v1/tickets/{data.beta_ticket}/dataset"):
        resp = get(api, path, KEY_A)
        assert resp.status_code == 404, path
        assert SECRET not in resp.text
        assert get(api, path, KEY_B).status_code == 200, path
    assert ok(api, "/v1/traces", q=SECRET, hours=3)["traces"] == []
    assert len(ok(api, "/v1/traces", KEY_B, q=SECRET, hours=3)["traces"]) == 50
    assert "b-sess-1" not in str(ok(api, "/v1/breakdown/user", hours=3))
    assert data.beta_ticket not in str(ok(api, "/v1/tickets"))
    resp = httpx.post(f"{api.url}/v1/tickets/{data.beta_ticket}/acknowledge",
                      headers={"Authorization": f"Bearer {KEY_A}"}, timeout=10)
    assert resp.status_code == 404
    assert ok(api, f"/v1/tickets/{data.beta_ticket}", KEY_B)["status"] == "open"


def test_ticket_acknowledge_then_resolve(api: ApiServer, data: Seeded) -> None:
    url = f"{api.url}/v1/tickets/{data.alpha_ticket}"
    auth = {"Authorization": f"Bearer {KEY_A}"}
    assert httpx.post(f"{url}/acknowledge", headers=auth).json()["status"] == "acknowledged"
    again = httpx.post(f"{url}/acknowledge", headers=auth)
    assert again.status_code == 409 and "acknowledged" in again.json()["detail"]
    assert httpx.post(f"{url}/resolve", headers=auth).json()["status"] == "resolved"
    assert ok(api, f"/v1/tickets/{data.alpha_ticket}")["status"] == "resolved"


def test_the_seeded_prompt_is_served_by_label_and_diffed(api: ApiServer) -> None:
    assert ok(api, "/v1/prompts/greet", label="production")["version"] == 1
    assert ok(api, "/v1/prompts/greet")["labels"] == []  # the newest, v2, has none
    assert ok(api, "/v1/prompts/greet/diff")["unified"][-1] == "+    Hi {{name}}!"
    assert get(api, "/v1/prompts/greet", KEY_B).status_code == 404


def test_drift_features_over_time(api: ApiServer) -> None:
    points = ok(api, "/v1/drift/features", hours=1)["points"]
    assert {(p["feature"], p["drifted"]) for p in points} == {
        ("prompt_tokens", True), ("output_tokens", False)}
    assert ok(api, "/v1/drift/features", hours=1, app="other")["points"] == []


BAD = [
    ("/v1/overview", {"hours": -1}),
    ("/v1/overview", {"hours": "abc"}),
    ("/v1/overview", {"hours": 24 * 365}),
    ("/v1/overview", {"start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"}),
    ("/v1/overview", {"start": "1500-01-01T00:00:00"}),
    ("/v1/overview", {"start": "0001-01-01T00:00:00+05:00"}),
    ("/v1/overview", {"end": "9999-12-31T23:59:59"}),
    ("/v1/overview", {"hours": 1, "start": "2026-01-01T00:00:00Z"}),
    ("/v1/overview", {"start": "yesterday"}),
    ("/v1/overview", {"app": "x" * 1000}),
    ("/v1/traces", {"limit": 0}),
    ("/v1/traces", {"limit": 100000}),
    ("/v1/traces", {"cursor": "not-a-cursor"}),
    ("/v1/traces", {"cursor": "WyIxOTAwIiwgMV0"}),
    ("/v1/traces", {"status": "'; DROP TABLE traces; --"}),
    ("/v1/traces", {"min_latency_ms": "nan"}),
    ("/v1/breakdown/nope", {}),
    ("/v1/compare", {"metric": "vibes"}),
    ("/v1/compare", {"dimension": "user"}),
    ("/v1/compare", {"a": "v9"}),
    ("/v1/timeseries/traffic", {"interval": "second"}),
    ("/v1/timeseries/traffic", {"group_by": "project_id"}),
    ("/v1/timeseries/traffic", {"interval": "minute", "hours": 24 * 30}),
    ("/v1/timeseries/feedback", {"app": "chat"}),
    ("/v1/timeseries/nope", {}),
    ("/v1/tickets", {"status": "lost"}),
    ("/v1/tickets/no-such-ticket", {}),
    ("/v1/traces/no-such-trace", {}),
    ("/v1/sessions/" + "s" * 500, {}),
    ("/v1/alerts", {"limit": -5}),
    ("/v1/prompts/greet", {"version": 0}),
    ("/v1/prompts/greet", {"version": 9}),
    ("/v1/prompts/greet", {"label": "canary"}),
    ("/v1/prompts/greet", {"label": "no spaces"}),
    ("/v1/prompts/greet", {"version": 1, "label": "production"}),
    ("/v1/prompts/greet/diff", {"from_version": "one"}),
    ("/v1/prompts/a@b", {}),
]


@pytest.mark.parametrize(("path", "params"), BAD)
def test_bad_parameters_get_a_4xx_with_a_reason(api: ApiServer, path: str,
                                                params: dict[str, Any]) -> None:
    resp = get(api, path, KEY_A, **params)
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.text)
    detail = resp.json()["detail"]
    assert detail, "no reason given"


def test_the_store_was_not_harmed_by_the_bad_parameters(api: ApiServer) -> None:
    assert ok(api, "/v1/stats")["traces"] == 600


@pytest.fixture(scope="module")
def fuzz_tally() -> Iterator[Counter[str]]:
    """Answers to the fuzzed requests by status class, recorded for the reliability suite."""
    tally: Counter[str] = Counter()
    yield tally
    if tally:
        record_fault("schemathesis over the read API's OpenAPI spec", sent=tally.total(),
                     accepted=tally["2xx"], stored=None, distinct=None,
                     answers_4xx=tally["4xx"], answers_5xx=tally["5xx"])


# The spec is the app's own; the store is only touched by requests, so none is needed here.
OPENAPI = create_app(None, KeyRing.parse("unused=unused")).openapi()  # type: ignore[arg-type]
SPEC = schemathesis.openapi.from_dict(OPENAPI)
# One pytest item per GET operation and mode, named at collection time: every worker of a
# parallel run collects the same items, and each runs its operation's examples inside it.
# Negative cases break a parameter's schema: an operation whose parameters all take any
# string (ids, the authorization header) has nothing to break and gets positive ones only.


def _breakable(parameter: dict[str, Any]) -> bool:
    options = parameter["schema"].get("anyOf", [parameter["schema"]])
    return not any(o.get("type") == "string" and not set(o) - {"type", "title"}
                   for o in options)  # any string will do: nothing to break


READ_CASES = [(path, mode) for path in sorted(OPENAPI["paths"])
              if "get" in OPENAPI["paths"][path]
              for mode in GenerationMode
              if mode is GenerationMode.POSITIVE
              or any(map(_breakable, OPENAPI["paths"][path]["get"].get("parameters", [])))]


@chaos
@pytest.mark.parametrize(("path", "mode"), READ_CASES,
                         ids=[f"{path}-{mode.value}" for path, mode in READ_CASES])
def test_fuzzed_reads_never_get_a_5xx(path: str, mode: GenerationMode, api: ApiServer,
                                      fuzz_tally: Counter[str]) -> None:
    """schemathesis generates requests from the OpenAPI spec: valid ones (positive) and
    ones that break it (negative)."""

    @given(case=SPEC[path]["GET"].as_strategy(generation_mode=mode))
    @settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
    def reads(case: Any) -> None:
        for key in (KEY_A, "wrong"):
            resp = case.call(base_url=api.url, headers={"Authorization": f"Bearer {key}"})
            fuzz_tally[f"{resp.status_code // 100}xx"] += 1
            assert resp.status_code < 500, (case.method, case.formatted_path, case.query,
                                            resp.status_code, resp.text[:300])
            if resp.status_code >= 400:
                assert resp.json().get("detail"), "an error without a reason"

    reads()


def test_every_read_operation_of_the_spec_is_fuzzed() -> None:
    reads = {path for path, methods in OPENAPI["paths"].items() if "get" in methods}
    assert {path for path, _ in READ_CASES} == reads and len(reads) >= 20
    assert ("/v1/alerts", GenerationMode.NEGATIVE) in READ_CASES
