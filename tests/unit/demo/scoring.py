"""Score demo events the way the judge stage does: the real built-in evaluators, and the
demo's stand-in LLM judge on the request the real LLM judge client would send."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable

from vigil.demo.judge import completion_for
from vigil.judge.evaluators import make_evaluators, run_builtin
from vigil.judge.llm.prompt import request_body
from vigil.judge.model import JudgeInput
from vigil.judge.rubric import load_rubric
from vigil_protos.v1 import events_pb2

Slice = tuple[str, str]


def judge_input(event: events_pb2.TraceEvent) -> JudgeInput:
    params: dict[str, object] = {}
    if event.params.response_format:
        params["response_format"] = event.params.response_format
    return JudgeInput(
        trace_id=event.trace_id, event_id=event.event_id, project_id="demo", app=event.app,
        model=event.model, prompt=[{"role": m.role, "content": m.content} for m in event.prompt],
        completion=event.completion, params=params,
        status="error" if event.status == events_pb2.TRACE_STATUS_ERROR else "ok")


def demo_judge_score(item: JudgeInput) -> dict[str, object]:
    body = request_body(item, load_rubric("helpfulness"), "vigil-demo-judge", 8000)
    reply = completion_for(json.loads(json.dumps(body)))
    verdict: dict[str, object] = json.loads(reply["choices"][0]["message"]["content"])
    return verdict


def mean_scores(events: Iterable[events_pb2.TraceEvent]
                ) -> tuple[dict[Slice, float], dict[Slice, float]]:
    """Per (app, model): the mean built-in score, and the mean demo-judge score."""
    evaluators = make_evaluators()
    builtin: dict[Slice, list[float]] = defaultdict(list)
    llm: dict[Slice, list[float]] = defaultdict(list)
    for event in events:
        item, key = judge_input(event), (event.app, event.model)
        builtin[key] += [j.score for j in run_builtin(item, evaluators) if j.score is not None]
        if item.status == "ok":
            score = demo_judge_score(item)["score"]
            assert isinstance(score, float | int)
            llm[key].append(float(score))
    return ({k: sum(v) / len(v) for k, v in builtin.items()},
            {k: sum(v) / len(v) for k, v in llm.items()})
