"""The two kinds of failure every consumer tells apart (vigil.kafka.policy decides on them).

- `PermanentError`: the input itself is wrong (a payload that does not decode, a row that
  breaks the table's schema, a record without a valid signature). Trying again gives the
  same answer: it goes to the dead-letter topic at once.
- `TransientError`: something the stage depends on is away (the store, the store owner,
  the broker, a network). The input is fine: it is retried with backoff, its offset held,
  and never dead-lettered.

Anything else is of unknown kind: tried a bounded number of times, then dead-lettered
with its type and message, so one poison record never stops a partition.
"""

from __future__ import annotations


class PermanentError(ValueError):
    """Bad input: the same record fails the same way every time. Dead-lettered at once."""


class TransientError(Exception):
    """A dependency is down or refused for now: retried with backoff, never dead-lettered."""


class StoreUnavailable(TransientError):
    """The store (or the store owner's write endpoint) did not take a write."""
