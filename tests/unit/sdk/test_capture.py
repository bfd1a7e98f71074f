"""The llm_call context manager and the observe decorator: timing, fields, errors."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from tests.unit.sdk.conftest import FakeCollector
from vigil_protos.v1 import events_pb2 as pb
from vigil_sdk import VigilClient, current_call


class ProviderDown(Exception):
    pass


@pytest.fixture
def client(make_client: Callable[..., VigilClient], collector: FakeCollector) -> VigilClient:
    return make_client(collector)


def only_event(client: VigilClient, collector: FakeCollector) -> pb.TraceEvent:
    assert client.flush(5)
    [event] = collector.events
    return event


def test_the_context_manager_times_and_records_what_the_app_set(
        client: VigilClient, collector: FakeCollector) -> None:
    prompt = [{"role": "user", "content": "Hi"}]
    with client.llm_call(model="gpt-4o", provider="openai", prompt=prompt,
                         user_id="u7") as call:
        inside_trace = call.trace_id
        call.completion = "Hello!"
        call.tokens(input=5, output=2, cached=1)
        call.set(finish_reason="stop", attributes={"k": "v"})
    event = only_event(client, collector)
    assert event.trace_id == inside_trace and event.event_id == call.event_id
    assert (event.model, event.provider, event.user_id, event.completion) == (
        "gpt-4o", "openai", "u7", "Hello!")
    assert (event.input_tokens, event.output_tokens, event.cached_input_tokens) == (5, 2, 1)
    assert event.finish_reason == "stop" and event.attributes["k"] == "v"
    assert event.status == pb.TRACE_STATUS_OK
    assert event.start_time.ToNanoseconds() <= event.end_time.ToNanoseconds()


def test_the_apps_exception_is_recorded_and_re_raised_unchanged(
        client: VigilClient, collector: FakeCollector) -> None:
    error = ProviderDown("503 from the provider")
    with pytest.raises(ProviderDown) as raised, client.llm_call(model="gpt-4o"):
        raise error
    assert raised.value is error
    event = only_event(client, collector)
    assert event.status == pb.TRACE_STATUS_ERROR
    assert (event.error_type, event.error_message) == ("ProviderDown", "503 from the provider")


def test_a_call_inside_another_joins_its_trace(client: VigilClient,
                                              collector: FakeCollector) -> None:
    with client.llm_call(model="planner", session_id="s1") as outer:
        with client.llm_call(model="tool") as inner:
            assert current_call() is inner
        assert current_call() is outer
    assert current_call() is None
    assert client.flush(5)
    by_model = {e.model: e for e in collector.events}
    assert by_model["tool"].trace_id == by_model["planner"].trace_id
    assert by_model["tool"].parent_span_id == by_model["planner"].span_id
    assert by_model["tool"].session_id == "s1"


def test_the_decorator_captures_prompt_completion_and_tokens(
        client: VigilClient, collector: FakeCollector) -> None:
    @client.observe(model="claude-3-5-haiku", provider="anthropic", prompt_template_id="qa")
    def answer(question: str) -> str:
        call = current_call()
        assert call is not None
        call.tokens(input=9, output=4)
        return f"answer to {question}"

    assert answer("why?") == "answer to why?"
    assert answer.__name__ == "answer"
    event = only_event(client, collector)
    assert [(m.role, m.content) for m in event.prompt] == [("user", "why?")]
    assert event.completion == "answer to why?"
    assert (event.input_tokens, event.output_tokens) == (9, 4)
    assert (event.model, event.prompt_template_id) == ("claude-3-5-haiku", "qa")


def test_the_decorator_records_errors_and_re_raises(client: VigilClient,
                                                   collector: FakeCollector) -> None:
    error = ProviderDown("boom")

    @client.observe(model="m")
    def fail(messages: list[dict[str, str]]) -> str:
        raise error

    with pytest.raises(ProviderDown) as raised:
        fail(messages=[{"role": "system", "content": "x"}])
    assert raised.value is error
    event = only_event(client, collector)
    assert (event.status, event.error_type) == (pb.TRACE_STATUS_ERROR, "ProviderDown")
    assert event.prompt[0].role == "system"


def test_the_decorator_works_on_coroutines(client: VigilClient,
                                           collector: FakeCollector) -> None:
    @client.observe(model="m")
    async def answer(prompt: str) -> str:
        await asyncio.sleep(0)
        return prompt.upper()

    async def main() -> None:
        async with client.llm_call(model="async-cm") as call:
            call.completion = await answer(prompt="hi")

    asyncio.run(main())
    assert client.flush(5)
    by_model = {e.model: e for e in collector.events}
    assert by_model["m"].completion == "HI"
    assert by_model["async-cm"].completion == "HI"
    assert by_model["m"].trace_id == by_model["async-cm"].trace_id
