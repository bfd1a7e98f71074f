"""Request dependencies shared by the read API's routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from vigil.access.keyring import Caller, KeyRing
from vigil.access.ratelimit import RateLimiter


def caller(request: Request, authorization: Annotated[str | None, Header()] = None) -> Caller:
    """The caller of the request's API key; 401 without a known, live key, 429 when the key
    is over its request rate (with Retry-After)."""
    keyring: KeyRing = request.app.state.keyring
    found = keyring.caller_for_authorization(authorization)
    if found is None:
        raise HTTPException(401, "missing or unknown API key (or revoked): send "
                            "'Authorization: Bearer <key>'")
    limiter: RateLimiter | None = getattr(request.app.state, "limiter", None)
    if limiter is not None and (refusal := limiter.take(found.digest)):
        raise HTTPException(429, str(refusal),
                            headers={"Retry-After": str(refusal.retry_after_whole_s)})
    return found


def caller_project(found: Annotated[Caller, Depends(caller)]) -> str:
    """The project of the caller's API key (the key decides it, never the request)."""
    return found.project


def writer(found: Annotated[Caller, Depends(caller)]) -> Caller:
    """The caller, if its key may change state (scope write or admin); 403 saying why not."""
    if not found.may("write"):
        raise HTTPException(403, f"the API key {found.key_id} has scope {found.scope!r}, which "
                            "may only read; this request changes state and needs scope "
                            "'write': use a key made with `vigil keys create --project "
                            f"{found.project} --scope write`")
    return found


Project = Annotated[str, Depends(caller_project)]
Writer = Annotated[Caller, Depends(writer)]
