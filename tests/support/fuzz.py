"""Hypothesis for the reliability suite: the settings (one place: modest example counts,
derandomized so CI runs the same examples every time) and strategies built from
protobuf descriptors, so every field of a message gets any value of its type."""

from __future__ import annotations

from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

FUZZ = settings(max_examples=100, derandomize=True, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))
FUZZ_TOPICS = settings(FUZZ, max_examples=3)  # each example is one round trip per topic

F = FieldDescriptor
_INTS = {F.TYPE_INT32: (-2**31, 2**31 - 1), F.TYPE_SINT32: (-2**31, 2**31 - 1),
         F.TYPE_SFIXED32: (-2**31, 2**31 - 1), F.TYPE_INT64: (-2**63, 2**63 - 1),
         F.TYPE_SINT64: (-2**63, 2**63 - 1), F.TYPE_SFIXED64: (-2**63, 2**63 - 1),
         F.TYPE_UINT32: (0, 2**32 - 1), F.TYPE_FIXED32: (0, 2**32 - 1),
         F.TYPE_UINT64: (0, 2**64 - 1), F.TYPE_FIXED64: (0, 2**64 - 1)}
_TEXTS = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "\t\n", "\x00", "é" * 300, "x" * 129, "y" * 70_000,
                     "z" * 300_000, "\U0001f600" * 50]),
)


def scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    """Any value of the field's type, extremes included."""
    if field.type in _INTS:
        lo, hi = _INTS[field.type]
        return st.one_of(st.integers(lo, hi), st.sampled_from([lo, hi, 0, -1 if lo else 1]))
    if field.type in (F.TYPE_DOUBLE, F.TYPE_FLOAT):
        width = 64 if field.type == F.TYPE_DOUBLE else 32
        return st.floats(allow_nan=True, allow_infinity=True, width=width)
    if field.type == F.TYPE_BOOL:
        return st.booleans()
    if field.type == F.TYPE_ENUM:  # proto3 enums are open: unknown numbers travel too
        return st.integers(-3, 1000)
    if field.type == F.TYPE_STRING:
        return _TEXTS
    if field.type == F.TYPE_BYTES:  # invalid UTF-8 is fine in bytes
        return st.one_of(st.binary(max_size=64), st.just(b"\xff\xfe\x00" * 100))
    raise TypeError(f"no strategy for field {field.full_name} of type {field.type}")


def message(descriptor: Descriptor, depth: int = 2) -> st.SearchStrategy[dict[str, Any]]:
    """Values for any subset of the message's fields (recursing into message fields)."""
    optional = {}
    for field in descriptor.fields:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key, value = field.message_type.fields_by_name["key"], \
                field.message_type.fields_by_name["value"]
            optional[field.name] = st.dictionaries(scalar(key), scalar(value), max_size=4)
            continue
        if field.message_type is not None:
            if depth <= 0:
                continue
            one: st.SearchStrategy[Any] = (_timestamps() if field.message_type.full_name ==
                                            Timestamp.DESCRIPTOR.full_name
                                            else message(field.message_type, depth - 1))
        else:
            one = scalar(field)
        is_repeated = field.is_repeated
        optional[field.name] = st.lists(one, max_size=3) if is_repeated else one
    return st.fixed_dictionaries({}, optional=optional)


def _timestamps() -> st.SearchStrategy[dict[str, Any]]:
    """Timestamps, also outside the range protobuf's own helpers accept."""
    return st.fixed_dictionaries({}, optional={
        "seconds": st.one_of(st.integers(-2**63, 2**63 - 1),
                             st.integers(1_600_000_000, 1_900_000_000)),
        "nanos": st.integers(-2**31, 2**31 - 1)})


def apply(target: Message, values: dict[str, Any]) -> Message:
    """Set the generated values on `target` (fields not in `values` keep theirs)."""
    for name, value in values.items():
        field = target.DESCRIPTOR.fields_by_name[name]
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            getattr(target, name).clear()
            getattr(target, name).update(value)
        elif field.is_repeated:
            del getattr(target, name)[:]
            for item in value:
                if field.message_type is not None:
                    apply(getattr(target, name).add(), item)
                else:
                    getattr(target, name).append(item)
        elif field.message_type is not None:
            sub = getattr(target, name)
            sub.Clear()
            sub.SetInParent()
            apply(sub, value)
        else:
            setattr(target, name, value)
    return target
