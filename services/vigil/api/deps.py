"""Request dependencies shared by the read API's routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from vigil.auth import KeyRing
from vigil.ratelimit import RateLimiter


def caller_project(request: Request,
                   authorization: Annotated[str | None, Header()] = None) -> str:
    """The project of the caller's API key; 401 without a known, live key, 429 when the key
    is over its request rate (with Retry-After)."""
    keyring: KeyRing = request.app.state.keyring
    caller = keyring.caller_for_authorization(authorization)
    if caller is None:
        raise HTTPException(401, "missing or unknown API key (or revoked): send "
                            "'Authorization: Bearer <key>'")
    limiter: RateLimiter | None = getattr(request.app.state, "limiter", None)
    if limiter is not None and (refusal := limiter.take(caller.digest)):
        raise HTTPException(429, str(refusal),
                            headers={"Retry-After": str(refusal.retry_after_whole_s)})
    return caller.project


Project = Annotated[str, Depends(caller_project)]
