"""Which variant of a rollout a caller gets: the SDK's copy of vigil.core.rollouts'
assignment (the SDK cannot import the server; tests/unit/core/test_rollouts.py checks
that both give the same answers on shared vectors).

The first 8 bytes of SHA-256 over ``rollout_id + "\\n" + unit id``, big-endian, modulo
10,000, is the unit's bucket; a bucket below ``percent * 100`` gets the candidate. The
unit is the user id or the session id, as the rollout says; a caller without one, or
whose attributes do not match the rollout's segment, stays on the label's version.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from typing import Any

BUCKETS = 10_000


@functools.lru_cache(maxsize=65_536)  # a pure function; the same users come back
def bucket(rollout_id: str, unit_id: str) -> int:
    digest = hashlib.sha256(f"{rollout_id}\n{unit_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def assign(rollout_id: str, unit_id: str, percent: float) -> bool:
    """True when the unit gets the candidate at `percent` (0..100)."""
    return bucket(rollout_id, unit_id) < round(percent * 100)


def matches(segment: Mapping[str, tuple[str, ...]], attributes: Mapping[str, Any]) -> bool:
    """Every key of the segment has one of its values in `attributes`; values compare as
    strings; an empty segment matches everyone."""
    for key, values in segment.items():
        value = attributes.get(key)
        if value is None or str(value) not in values:
            return False
    return True


def variant(rollout_id: str, percent: float, split_by: str,
            segment: Mapping[str, tuple[str, ...]], user_id: str, session_id: str,
            attributes: Mapping[str, Any]) -> str:
    """"" outside the split, else "control" or "candidate"."""
    unit = user_id if split_by == "user" else session_id
    if not unit or not matches(segment, attributes):
        return ""
    return "candidate" if assign(rollout_id, unit, percent) else "control"
