"""Public methods never raise into the app: bad arguments are dropped and counted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.unit.sdk.conftest import FakeCollector
from vigil_sdk import VigilClient

BAD_RECORDS: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
    (("gpt-4o",), {}),  # positional
    ((), {}),  # no model
    ((), {"model": "m", "tokens_in": 3}),  # misspelled keyword
    ((), {"model": "m", "prompt": 42}),
    ((), {"model": "m", "prompt": [object()]}),
    ((), {"model": "m", "start": "yesterday"}),
    ((), {"model": "m", "end": float("nan")}),
    ((), {"model": "m", "input_tokens": -5}),
    ((), {"model": "m", "output_tokens": "many"}),
    ((), {"model": "m", "status": "weird"}),
    ((), {"model": "m", "params": "hot"}),
    ((), {"model": "m", "params": {"temperature": "hot"}}),
    ((), {"model": "m", "attributes": [1, 2]}),
]


@pytest.mark.parametrize(("args", "kwargs"), BAD_RECORDS)
def test_record_with_bad_arguments_does_not_raise(make_client: Callable[..., VigilClient],
                                                  collector: FakeCollector,
                                                  args: tuple[Any, ...],
                                                  kwargs: dict[str, Any]) -> None:
    client = make_client(collector)
    client.record(*args, **kwargs)
    assert client.flush(5)
    stats = client.stats()
    assert stats.dropped == {"bad_argument": 1}
    assert stats.last_error
    assert collector.events == []


@pytest.mark.parametrize("kwargs", [
    {"kind": "stars"}, {"kind": "thumbs", "value": "maybe"}, {"kind": object()},
    {"trace_id": "t", "rating": 5},
])
def test_feedback_with_bad_arguments_does_not_raise(make_client: Callable[..., VigilClient],
                                                    collector: FakeCollector,
                                                    kwargs: dict[str, Any]) -> None:
    client = make_client(collector)
    client.submit_feedback(**{"trace_id": "t", **kwargs})
    assert client.flush(5)
    assert client.stats().dropped == {"bad_argument": 1}
    assert collector.feedback == []


def test_other_methods_with_bad_arguments_do_not_raise(make_client: Callable[..., VigilClient],
                                                       collector: FakeCollector) -> None:
    client = make_client(collector)
    with client.llm_call("gpt-4o") as call:  # type: ignore[misc]
        call.completion = "still works"
    decorate = client.observe("gpt-4o")  # type: ignore[misc]
    assert decorate(len)("abc") == 3
    assert client.flush("soon") is False  # type: ignore[arg-type]
    assert client.wrap_openai(object()) is not None
    assert client.stats().dropped["bad_argument"] == 2
    assert collector.events == []
