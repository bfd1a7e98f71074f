"""Client-side sampling: a pure function of the trace id, so every call of a trace,
in every process and on every replay, gets the same answer."""

from __future__ import annotations

import hashlib

_SCALE = float(1 << 64)


def sampled_in(trace_id: str, rate: float) -> bool:
    """True when the trace is kept at `rate` (0..1): its hash, read as a number in
    [0, 1), is below the rate. Rate 1 keeps everything, 0 nothing."""
    if rate >= 1.0:
        return True
    if rate <= 0.0:
        return False
    digest = hashlib.blake2b(trace_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE < rate
