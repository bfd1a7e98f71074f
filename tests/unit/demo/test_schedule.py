"""The demo's incident schedule is a pure function of the clock, and what the world makes
during an incident really is worse for the real evaluators (the built-in ones and the
stand-in LLM judge on the request the judge stage sends), drifts, or costs more."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta

import pytest

from tests.unit.demo.scoring import mean_scores
from vigil.demo.schedule import DEFAULT_INCIDENTS, DemoSchedule, Effects, Incident
from vigil.demo.world import DemoWorld
from vigil_protos.v1 import events_pb2

START = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
QUALITY = ("support-bot", "acme-support-ft-v3")
COST = ("code-assistant", "gpt-4o")


def minute(m: float) -> datetime:
    return START + timedelta(minutes=m)


@pytest.mark.parametrize(("at", "kinds"), [
    (-1, set()),  # the back-filled history is clean
    (0.5, {"input_drift"}),
    (2.5, {"input_drift", "quality"}),
    (5, {"input_drift", "quality", "cost"}),
    (7.5, {"input_drift", "quality", "cost"}),
    (8, {"input_drift", "quality"}),
    (11, {"input_drift"}),
    (45, set()),
    (65, {"input_drift", "quality", "cost"}),  # every hour again
])
def test_which_incidents_are_on_at_a_minute(at: float, kinds: set[str]) -> None:
    assert {i.kind for i in DemoSchedule(START).at(minute(at))} == kinds


def test_effects_name_the_slice() -> None:
    schedule = DemoSchedule(START)
    assert schedule.effects(minute(5), *QUALITY) == Effects(quality=True)
    assert schedule.effects(minute(5), "support-bot", "gpt-4o-mini") == Effects()
    assert schedule.effects(minute(5), *COST) == Effects(cost=True)
    assert schedule.effects(minute(5), "doc-summarizer", "gpt-4o-mini") == Effects(
        input_drift=True)
    assert schedule.effects(minute(5), "doc-summarizer", "gemini-1.5-flash").input_drift
    assert not schedule.effects(minute(20), *QUALITY).any


def test_a_naive_time_is_utc_and_a_zone_is_converted() -> None:
    schedule = DemoSchedule(START)
    assert schedule.at(minute(5).replace(tzinfo=None)) == schedule.at(minute(5))
    tokyo = minute(5).astimezone(datetime.now().astimezone().tzinfo)
    assert schedule.at(tokyo) == schedule.at(minute(5))


def test_an_incident_must_fit_its_period() -> None:
    late = Incident("cost", "a", None, timedelta(minutes=50), timedelta(minutes=70))
    with pytest.raises(ValueError, match="within one period"):
        DemoSchedule(START, (late,))
    with pytest.raises(ValueError, match="period"):
        DemoSchedule(START, DEFAULT_INCIDENTS, timedelta(0))


def _traffic(at: float, n: int = 4000, seed: int = 5) -> list[events_pb2.TraceEvent]:
    """n events of one world ending in the minute before ``minute(at)``, from a world that
    has been running (its conversations under way)."""
    world = DemoWorld(seed, DemoSchedule(START))
    events: list[events_pb2.TraceEvent] = []
    for k in range(n // 500):
        events += world.next_events(500, minute(at) + timedelta(seconds=k))
    return events


Scores = tuple[dict[tuple[str, str], float], dict[tuple[str, str], float]]


@pytest.fixture(scope="module")
def calm() -> list[events_pb2.TraceEvent]:
    return _traffic(30)  # only the drift is on: no quality or cost incident


@pytest.fixture(scope="module")
def incident() -> list[events_pb2.TraceEvent]:
    return _traffic(6)  # drift, quality and cost incidents all on


@pytest.fixture(scope="module")
def calm_scores(calm: list[events_pb2.TraceEvent]) -> Scores:
    return mean_scores(calm)


@pytest.fixture(scope="module")
def incident_scores(incident: list[events_pb2.TraceEvent]) -> Scores:
    return mean_scores(incident)


def test_scores_vary_by_slice_outside_incidents(calm_scores: Scores) -> None:
    builtin, llm = calm_scores
    assert len(llm) == 10
    assert max(llm.values()) - min(llm.values()) > 0.05, llm
    assert all(0.6 < s < 0.95 for s in llm.values()), llm
    assert min(builtin.values()) < 1.0
    # the fine-tune is the weakest model of the support bot, claude the best
    assert llm[QUALITY] < llm[("support-bot", "claude-3-5-haiku")]


def test_the_incident_slice_scores_lower_with_the_real_evaluators(
        calm_scores: Scores, incident_scores: Scores) -> None:
    builtin_calm, llm_calm = calm_scores
    builtin_bad, llm_bad = incident_scores
    assert llm_bad[QUALITY] < llm_calm[QUALITY] - 0.3, (llm_calm[QUALITY], llm_bad[QUALITY])
    assert builtin_bad[QUALITY] < builtin_calm[QUALITY] - 0.05
    for key in llm_calm:  # the other slices are as good as before
        if key != QUALITY:
            assert abs(llm_bad[key] - llm_calm[key]) < 0.06, key


def test_the_cost_incident_inflates_one_slices_input_tokens(
        calm: list[events_pb2.TraceEvent], incident: list[events_pb2.TraceEvent]) -> None:
    def median_tokens(events: list[events_pb2.TraceEvent], key: tuple[str, str]) -> float:
        return statistics.median(e.input_tokens for e in events
                                 if (e.app, e.model) == key and e.HasField("input_tokens"))

    assert median_tokens(incident, COST) > 8 * median_tokens(calm, COST)
    other = ("code-assistant", "claude-3-5-sonnet")
    assert median_tokens(incident, other) < 2 * median_tokens(calm, other)


def test_the_drift_changes_doc_summarizer_inputs_only() -> None:
    before, during = _traffic(-5, 3000), _traffic(5, 3000)

    def first_turns(events: list[events_pb2.TraceEvent], app: str) -> list[str]:
        return [e.prompt[-1].content for e in events if e.app == app and len(e.prompt) == 2]

    docs_before = first_turns(before, "doc-summarizer")
    docs_during = first_turns(during, "doc-summarizer")
    assert statistics.median(map(len, docs_during)) > 1.8 * statistics.median(
        map(len, docs_before))
    assert sum("Licensee" in d for d in docs_during) > 0.9 * len(docs_during)
    assert not any("Licensee" in d for d in docs_before)
    support_before = first_turns(before, "support-bot")
    support_during = first_turns(during, "support-bot")
    assert abs(statistics.median(map(len, support_during)) -
               statistics.median(map(len, support_before))) < 20
