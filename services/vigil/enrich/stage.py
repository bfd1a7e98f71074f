"""The enrich stage as pure functions: one raw record in, enriched records and failures out.

Contract: each event of a raw `TraceBatch` record becomes one flat enriched
record, with PII masked in the prompt, completion, tool-call arguments and error
message (when masking is on), token counts (reported, or estimated and flagged), cost from
the price book (or none and flagged for an unknown model), and latency. An
event that fails is returned as a failure with its reason, never dropped and
never allowed to fail its neighbours.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from vigil.access.keyring import KeyRing
from vigil.core.pii import mask_pii
from vigil.core.prices import PriceBook
from vigil.enrich.tokens import token_counts
from vigil.events import ChatMessage, EnrichedTrace, ToolCall, TraceEvent
from vigil.events.validate import Limits, validate_trace
from vigil.events.wire import (
    PayloadError,
    decode_app_event,
    decode_trace_batch,
    enriched_record,
    to_datetime,
    trace_from_proto,
)
from vigil_protos.v1 import events_pb2 as pb

JSON_EXPANSION = 4  # a direct-Kafka JSON record may be this many times VIGIL_MAX_EVENT_BYTES


@dataclass(frozen=True, slots=True)
class EnrichConfig:
    prices: PriceBook
    mask_pii: bool = True
    pii_kinds: frozenset[str] = frozenset({"email", "phone", "card", "secret"})


@dataclass(slots=True)
class EventFailure:
    event: pb.TraceEvent
    reason: str


@dataclass(slots=True)
class EnrichOutcome:
    project_id: str
    records: list[dict[str, Any]] = field(default_factory=list)
    failures: list[EventFailure] = field(default_factory=list)
    pii_masked: Counter[str] = field(default_factory=Counter)
    unpriced: int = 0


def enrich(event: TraceEvent, config: EnrichConfig) -> EnrichedTrace:
    """Enrich one trace event (tokens are counted on the text before masking)."""
    tokens = token_counts(event)
    cost = config.prices.price(event.provider, event.model, tokens)
    masked_event, masked = _masked(event, config) if config.mask_pii else (event, {})
    latency_ms = (event.end_time - event.start_time).total_seconds() * 1000.0
    return EnrichedTrace(event=masked_event, tokens=tokens, cost=cost, latency_ms=latency_ms,
                         pii_masked=masked)


_SEPARATOR = "\n\x00\n"  # no pattern matches across a line break


def _masked(event: TraceEvent, config: EnrichConfig) -> tuple[TraceEvent, dict[str, int]]:
    """Mask every text of the event in one pass over their concatenation."""
    calls = [c for m in event.prompt for c in m.tool_calls] + event.completion_tool_calls
    texts = [m.content for m in event.prompt] + [c.arguments for c in calls] \
        + [event.completion, event.error_message]
    joined = _SEPARATOR.join(texts)
    if "\x00" in joined.replace(_SEPARATOR, ""):  # a NUL of its own: mask text by text
        results = [mask_pii(text, config.pii_kinds) for text in texts]
        masked_texts = [text for text, _ in results]
        total: Counter[str] = Counter()
        for _, counts in results:
            total.update(counts)
        counts = dict(total)
    else:
        masked_joined, counts = mask_pii(joined, config.pii_kinds)
        masked_texts = masked_joined.split(_SEPARATOR)
    if not counts:
        return event, {}
    *texts, completion, error_message = masked_texts
    prompt_texts, arguments = texts[:len(event.prompt)], iter(texts[len(event.prompt):])

    def masked_calls(calls: list[ToolCall]) -> list[ToolCall]:
        return [ToolCall(c.id, c.name, next(arguments)) for c in calls]

    prompt = [ChatMessage(m.role, text, m.name, masked_calls(m.tool_calls), m.tool_call_id)
              for m, text in zip(event.prompt, prompt_texts, strict=True)]
    masked = replace(event, prompt=prompt, completion=completion, error_message=error_message,
                     completion_tool_calls=masked_calls(event.completion_tool_calls))
    return masked, counts


def enrich_record(value: bytes | None, partition: int, offset: int, config: EnrichConfig
                  ) -> EnrichOutcome:
    """Enrich every event of one raw record. Raises PayloadError when the record is unreadable."""
    return enrich_batch(decode_trace_batch(value), partition, offset, config)


def app_event_batch(value: bytes | None, headers: dict[str, str], keys: KeyRing,
                    limits: Limits, now: datetime) -> pb.TraceBatch:
    """An app's own Kafka record (one TraceEvent, key in the `authorization` header) as a
    one-event batch, checked like ingest checks it. Raises PayloadError with the reason."""
    project = keys.project_for_metadata(headers.items())
    if project is None:
        raise PayloadError("missing or unknown API key (or revoked): set the record header "
                           "'authorization: Bearer <key>'")
    # checked before decoding; JSON spells the same event in up to a few times the bytes
    limit = limits.max_event_bytes * (JSON_EXPANSION if "json" in headers.get(
        "content-type", "") else 1)
    if value is not None and len(value) > limit:
        raise PayloadError(f"record is {len(value)} bytes, the limit is {limit}")
    event = decode_app_event(value, headers.get("content-type", ""))
    if violation := validate_trace(event, limits, now):
        raise PayloadError(f"invalid event: {violation.field} {violation.reason}")
    batch = pb.TraceBatch(project_id=project, events=[event])
    batch.received_at.FromDatetime(now)
    return batch


def enrich_batch(batch: pb.TraceBatch, partition: int, offset: int, config: EnrichConfig
                 ) -> EnrichOutcome:
    """Enrich every event of a batch; a failing event becomes a failure, not an exception."""
    received_at: datetime = to_datetime(batch.received_at)
    outcome = EnrichOutcome(project_id=batch.project_id)
    for proto in batch.events:
        try:
            enriched = enrich(trace_from_proto(proto, batch.project_id, received_at), config)
        except Exception as exc:  # one bad event must not fail its batch
            outcome.failures.append(EventFailure(proto, f"{type(exc).__name__}: {exc}"))
            continue
        enriched.raw_partition, enriched.raw_offset = partition, offset
        outcome.records.append(enriched_record(enriched))
        outcome.pii_masked.update(enriched.pii_masked)
        outcome.unpriced += not enriched.cost.known
    return outcome
