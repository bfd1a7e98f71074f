"""The enrich stage as a pure function over one raw record."""

from __future__ import annotations

import orjson
import pytest

from tests.support.factories import valid_event
from vigil.core.prices import PriceBook, PriceOverride
from vigil.enrich.stage import EnrichConfig, enrich_record
from vigil.events.wire import PayloadError
from vigil_protos.v1 import events_pb2 as pb

CONFIG = EnrichConfig(PriceBook([PriceOverride("acme", "acme-ft", 1.0, 2.0)]))


def _record(*events: pb.TraceEvent, project: str = "p") -> bytes:
    batch = pb.TraceBatch(project_id=project, events=events)
    batch.received_at.GetCurrentTime()
    return batch.SerializeToString()


def test_pii_is_masked_and_counted_and_tokens_are_counted_before_masking() -> None:
    event = valid_event(1, completion="mail me at jane.doe@example.com")
    event.prompt[1].content = "my card is 4111 1111 1111 1111, call +1-202-555-0143"
    out = enrich_record(_record(event), 3, 17, CONFIG)
    [record] = out.records
    assert "jane.doe" not in record["completion"] and "[EMAIL]" in record["completion"]
    assert "4111" not in record["prompt"] and "[CARD]" in record["prompt"]
    assert record["pii_masked"] == {"email": 1, "card": 1, "phone": 1}
    assert (record["raw_partition"], record["raw_offset"]) == (3, 17)
    assert record["input_tokens"] == event.input_tokens and not record["tokens_estimated"]


def test_masking_can_be_switched_off() -> None:
    event = valid_event(1, completion="jane.doe@example.com")
    config = EnrichConfig(CONFIG.prices, mask_pii=False)
    [record] = enrich_record(_record(event), 0, 0, config).records
    assert record["completion"] == "jane.doe@example.com" and record["pii_masked"] == {}


@pytest.mark.parametrize(("provider", "model", "known", "source"), [
    ("openai", "gpt-4o", True, "genai-prices"),
    ("acme", "acme-ft", True, "override"),
    ("acme", "never-heard-of-it", False, "none"),
])
def test_cost_source_and_unknown_models(provider: str, model: str, known: bool,
                                        source: str) -> None:
    event = valid_event(1, provider=provider, model=model)
    [record] = enrich_record(_record(event), 0, 0, CONFIG).records
    assert (record["cost_known"], record["price_source"]) == (known, source)
    assert (record["total_cost"] > 0) == known


def test_missing_tokens_are_estimated_and_flagged() -> None:
    event = valid_event(1)
    event.ClearField("input_tokens")
    event.ClearField("output_tokens")
    [record] = enrich_record(_record(event), 0, 0, CONFIG).records
    assert record["tokens_estimated"] is True
    assert record["input_tokens"] > 0 and record["output_tokens"] > 0


def test_latency_comes_from_the_timestamps() -> None:
    event = valid_event(5)  # ends 200 + 5 ms after it starts
    [record] = enrich_record(_record(event), 0, 0, CONFIG).records
    assert record["latency_ms"] == pytest.approx(205.0)


def test_one_failing_event_does_not_fail_its_batch() -> None:
    good, bad = valid_event(1), valid_event(2)
    bad.start_time.seconds = 2**62  # outside what datetime can hold
    out = enrich_record(_record(good, bad), 0, 0, CONFIG)
    assert [r["event_id"] for r in out.records] == [good.event_id]
    assert [f.event.event_id for f in out.failures] == [bad.event_id]
    assert out.failures[0].reason


@pytest.mark.parametrize("value", [None, b"", b"\xff\xfe\x00garbage", _record(project="")],
                         ids=["none", "empty", "garbage", "no-project"])  # stable across workers
def test_unreadable_records_are_payload_errors(value: bytes | None) -> None:
    with pytest.raises(PayloadError):
        enrich_record(value, 0, 0, CONFIG)


@pytest.mark.parametrize("texts", [
    ["a@b.io", "call +44 20 7946 0958", "api_key=abc123secret"],
    ["line one\npassword: hunter2\nline three", "", "4111-1111-1111-1111"],
    ["nul \x00 inside a@b.io", "x\n\x00\ny@z.io"],  # NULs of their own: text by text
    ["ünïcødé ✉ jöhn@exämple.de", "電話 +81 3-1234-5678", ""],
])
def test_one_pass_over_all_texts_masks_like_each_text_alone(texts: list[str]) -> None:
    from vigil.core.pii import mask_pii

    event = valid_event(1, completion=texts[-1])
    del event.prompt[:]
    event.prompt.extend(pb.Message(role="user", content=t) for t in texts[:-1])
    [record] = enrich_record(_record(event), 0, 0, CONFIG).records
    expected = [mask_pii(t) for t in texts]
    total: dict[str, int] = {}
    for _, counts in expected:
        for kind, n in counts.items():
            total[kind] = total.get(kind, 0) + n
    assert record["pii_masked"] == total
    assert [m["content"] for m in orjson.loads(record["prompt"])] == \
        [text for text, _ in expected[:-1]]
    assert record["completion"] == expected[-1][0]
