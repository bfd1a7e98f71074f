"""Proof that a record on an internal topic was written by a Vigil service.

Every record a Vigil service writes as its own output carries the header
`vigil-signature: sha256=<hex HMAC-SHA256 of the record value>`, keyed with
VIGIL_INTERNAL_TOKEN. Every consumer of an internal topic checks it before it decodes
anything: an unsigned or forged record is refused (`SignatureError`, a PayloadError, so
the poison policy dead-letters it at once) and never processed. Without it, anyone who
can reach the broker could write traces, feedback, alerts or tickets into any project.

Not signed: the app topic (apps prove who they are with an API key in headers) and the
dead-letter topics, whose values are what a consumer refused; signing those would make a
forged record valid for whoever copies it back.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import Any

from vigil.events.wire import PayloadError
from vigil.settings import Settings

H_SIGNATURE = "vigil-signature"
SCHEME = b"sha256="
UNSIGNED = "unsigned record"
BAD_SIGNATURE = "bad signature"

Header = tuple[str, bytes]


class SignatureError(PayloadError):
    """A record on an internal topic without a valid signature: refused, dead-lettered."""


class MissingSecret(RuntimeError):
    """A service that reads or writes internal topics was started without the secret."""


def internal_secret(settings: Settings) -> bytes:
    """The key of the signatures; raises MissingSecret when VIGIL_INTERNAL_TOKEN is unset."""
    token = settings.internal_token.get_secret_value()
    if not token:
        raise MissingSecret(
            "VIGIL_INTERNAL_TOKEN is unset: every Vigil service signs and checks the records "
            "of the internal topics with it. Give all of them the same long random string, "
            "e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'")
    return token.encode()


def sign(secret: bytes, value: bytes) -> Header:
    """The signature header of a record whose value is `value`."""
    return H_SIGNATURE, SCHEME + _digest(secret, value)


def verify(secret: bytes, headers: Any, value: bytes | None) -> str | None:
    """Why the record is not Vigil's own (UNSIGNED or BAD_SIGNATURE), or None when it is.

    `headers` as any Kafka client gives them: (name, value) pairs or a mapping."""
    found = [v for k, v in _pairs(headers) if k.lower() == H_SIGNATURE]
    if not found:
        return UNSIGNED
    if len(found) > 1 or not isinstance(found[0], bytes):
        return BAD_SIGNATURE
    expected = SCHEME + _digest(secret, value or b"")
    return None if hmac.compare_digest(found[0], expected) else BAD_SIGNATURE


def check(secret: bytes, headers: Any, value: bytes | None) -> None:
    """Raise SignatureError unless the record carries a valid signature."""
    if (reason := verify(secret, headers, value)) is not None:
        raise SignatureError(reason)


def _digest(secret: bytes, value: bytes) -> bytes:
    return hmac.new(secret, value, hashlib.sha256).hexdigest().encode()


def _pairs(headers: Any) -> Iterable[tuple[str, Any]]:
    if not headers:
        return ()
    if isinstance(headers, Mapping):
        return headers.items()
    return headers  # type: ignore[no-any-return]
