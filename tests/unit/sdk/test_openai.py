"""wrap_openai on a fake client of the OpenAI shape (the app's client, not Vigil's)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from types import SimpleNamespace as NS
from typing import Any

import pytest

from tests.unit.sdk.conftest import FakeCollector
from vigil_protos.v1 import events_pb2 as pb
from vigil_sdk import VigilClient, wrap_openai

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]


class RateLimitError(Exception):
    pass


def usage(prompt: int, completion: int, cached: int) -> NS:
    return NS(prompt_tokens=prompt, completion_tokens=completion,
              prompt_tokens_details=NS(cached_tokens=cached))


def chunks() -> list[NS]:
    def chunk(text: str | None, finish: str | None = None) -> NS:
        return NS(model="gpt-4o-2024-08-06", usage=None,
                  choices=[NS(index=0, delta=NS(content=text), finish_reason=finish)])

    return [chunk("Hel"), chunk("lo"), chunk(None, "stop"),
            NS(model="gpt-4o-2024-08-06", choices=[], usage=usage(20, 2, 8))]


class FakeCompletions:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.error: Exception | None = None

    def create(self, **kwargs: Any) -> Any:
        self.requests.append(kwargs)
        if self.error is not None:
            raise self.error
        if kwargs.get("stream"):
            return iter(chunks())
        return NS(model="gpt-4o-2024-08-06", usage=usage(20, 2, 8), choices=[
            NS(index=0, finish_reason="stop", message=NS(role="assistant", content="Hello"))])


class FakeAsyncCompletions(FakeCompletions):
    async def create(self, **kwargs: Any) -> Any:  # type: ignore[override]
        result = FakeCompletions.create(self, **kwargs)
        if kwargs.get("stream"):
            async def stream() -> AsyncIterator[NS]:
                for item in result:
                    yield item
            return stream()
        return result


def fake_client(completions: FakeCompletions) -> Any:
    return NS(chat=NS(completions=completions))


@pytest.fixture
def vigil(make_client: Callable[..., VigilClient], collector: FakeCollector) -> VigilClient:
    return make_client(collector)


def recorded(vigil: VigilClient, collector: FakeCollector) -> list[pb.TraceEvent]:
    assert vigil.flush(5)
    return collector.events


def assert_the_usual_call(event: pb.TraceEvent) -> None:
    assert (event.model, event.provider) == ("gpt-4o", "openai")
    assert [(m.role, m.content) for m in event.prompt] == [("system", "Be brief."),
                                                          ("user", "Hi")]
    assert (event.completion, event.finish_reason) == ("Hello", "stop")
    assert (event.input_tokens, event.output_tokens, event.cached_input_tokens) == (20, 2, 8)
    assert event.status == pb.TRACE_STATUS_OK
    assert event.params.temperature == pytest.approx(0.3)


def test_a_completion_is_recorded_and_returned_untouched(vigil: VigilClient,
                                                         collector: FakeCollector) -> None:
    completions = FakeCompletions()
    client = wrap_openai(fake_client(completions), vigil, user_id="u1")
    response = client.chat.completions.create(model="gpt-4o", messages=MESSAGES,
                                              temperature=0.3, vigil={"session_id": "s9"})
    assert response.choices[0].message.content == "Hello"
    assert "vigil" not in completions.requests[0]
    [event] = recorded(vigil, collector)
    assert_the_usual_call(event)
    assert (event.user_id, event.session_id) == ("u1", "s9")


def test_an_error_is_recorded_and_re_raised_unchanged(vigil: VigilClient,
                                                      collector: FakeCollector) -> None:
    completions = FakeCompletions()
    completions.error = RateLimitError("429 slow down")
    client = vigil.wrap_openai(fake_client(completions))
    with pytest.raises(RateLimitError) as raised:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert raised.value is completions.error
    [event] = recorded(vigil, collector)
    assert (event.status, event.error_type, event.error_message) == (
        pb.TRACE_STATUS_ERROR, "RateLimitError", "429 slow down")


def test_a_stream_passes_through_and_is_recorded_at_its_end(vigil: VigilClient,
                                                            collector: FakeCollector) -> None:
    client = wrap_openai(fake_client(FakeCompletions()), vigil)
    stream = client.chat.completions.create(model="gpt-4o", messages=MESSAGES,
                                            temperature=0.3, stream=True,
                                            stream_options={"include_usage": True})
    assert vigil.flush(5) and collector.events == []  # nothing before the stream ends
    received = list(stream)
    assert received == chunks()
    [event] = recorded(vigil, collector)
    assert_the_usual_call(event)


def test_a_stream_closed_early_records_what_came(vigil: VigilClient,
                                                 collector: FakeCollector) -> None:
    client = wrap_openai(fake_client(FakeCompletions()), vigil)
    with client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True) as s:
        first = next(iter(s))
    assert first.choices[0].delta.content == "Hel"
    [event] = recorded(vigil, collector)
    assert event.completion == "Hel"
    assert event.attributes["stream"] == "closed before the end"


def test_a_stream_that_fails_records_the_error(vigil: VigilClient,
                                               collector: FakeCollector) -> None:
    def broken(**_: Any) -> Iterator[NS]:
        yield chunks()[0]
        raise RateLimitError("cut off")

    client = wrap_openai(NS(chat=NS(completions=NS(create=broken))), vigil)
    with pytest.raises(RateLimitError):
        for _ in client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True):
            pass
    [event] = recorded(vigil, collector)
    assert (event.status, event.completion) == (pb.TRACE_STATUS_ERROR, "Hel")


def test_the_async_client_and_its_stream(vigil: VigilClient,
                                         collector: FakeCollector) -> None:
    client = wrap_openai(fake_client(FakeAsyncCompletions()), vigil)

    async def main() -> list[Any]:
        await client.chat.completions.create(model="gpt-4o", messages=MESSAGES,
                                             temperature=0.3)
        stream = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES,
                                                      temperature=0.3, stream=True)
        return [chunk async for chunk in stream]

    assert asyncio.run(main()) == chunks()
    events = recorded(vigil, collector)
    assert len(events) == 2
    for event in events:
        assert_the_usual_call(event)


def test_wrapping_twice_records_once(vigil: VigilClient, collector: FakeCollector) -> None:
    client = wrap_openai(wrap_openai(fake_client(FakeCompletions()), vigil), vigil)
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert len(recorded(vigil, collector)) == 1


def test_the_app_appending_to_its_messages_later_does_not_change_the_record(
        vigil: VigilClient, collector: FakeCollector) -> None:
    client = wrap_openai(fake_client(FakeCompletions()), vigil)
    history = list(MESSAGES)
    client.chat.completions.create(model="gpt-4o", messages=history)
    history.append({"role": "assistant", "content": "Hello"})
    [event] = recorded(vigil, collector)
    assert len(event.prompt) == 2
