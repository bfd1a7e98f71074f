"""OTLP attribute values as Python values, and the checks every OTLP mapping shares
(pure): JSON text parsed under a depth limit, numbers read whatever their OTLP type."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from vigil.events.validate import Violation, json_too_deep


class InvalidSpan(Exception):
    """A span (or log record) the mapping refuses; its Violation says which attribute and
    why."""

    def __init__(self, violation: Violation) -> None:
        super().__init__(str(violation))
        self.violation = violation


def value_of(v: AnyValue) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [value_of(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return attributes(v.kvlist_value.values)
    return getattr(v, kind) if kind else None


def attributes(kvs: Iterable[KeyValue]) -> dict[str, Any]:
    return {kv.key: value_of(kv.value) for kv in kvs}


def text(v: Any) -> str:
    """A value as text: strings as they are, anything else as JSON."""
    return v if isinstance(v, str) else json.dumps(v, default=str)


def parse_json(value: Any, name: str, max_depth: int) -> Any:
    """`value` parsed when it is JSON text (None when it is not JSON; other values as they
    are); raises InvalidSpan when it nests deeper than `max_depth`."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except RecursionError:
            raise too_deep(name, max_depth) from None
        except ValueError:
            return None
    if json_too_deep(value, max_depth):
        raise too_deep(name, max_depth)
    return value


def too_deep(name: str, max_depth: int) -> InvalidSpan:
    return InvalidSpan(Violation(name, f"nests JSON deeper than {max_depth} levels"))


def number(value: Any) -> float | None:
    """A finite number sent as an int, a double or numeric text (OTLP/JSON exporters and
    JSON parameter blobs spell numbers every way); None when absent or not a number. Zero
    is a number like any other."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def whole(value: Any, limit: int) -> int | None:
    """A whole number in [0, limit) (an integral double counts), else None."""
    n = number(value)
    if n is None or n != int(n) or not 0 <= n < limit:
        return None
    return int(n)
