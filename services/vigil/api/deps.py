"""Request dependencies shared by the read API's routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from vigil.auth import KeyRing


def caller_project(request: Request,
                   authorization: Annotated[str | None, Header()] = None) -> str:
    """The project of the caller's API key; 401 without a known key."""
    keyring: KeyRing = request.app.state.keyring
    scheme, _, token = (authorization or "").partition(" ")
    found = keyring.project_for_key(token.strip()) if scheme.lower() == "bearer" else None
    if found is None:
        raise HTTPException(401, "missing or unknown API key: send 'Authorization: Bearer <key>'")
    return found


Project = Annotated[str, Depends(caller_project)]
