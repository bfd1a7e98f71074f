"""The command line's client of the read API: one place for the URL, the key, TLS and
the errors a user can act on (not running, key refused, request refused)."""

from __future__ import annotations

from typing import Any

import httpx
import typer

from vigil.settings import Settings


def call_api(method: str, path: str, key: str, **kwargs: Any) -> httpx.Response:
    """One request to VIGIL_API_URL with the key; exits with a message on any failure."""
    settings = Settings()
    try:
        response = httpx.request(method, f"{settings.api_url}{path}", timeout=30,
                                 headers={"authorization": f"Bearer {key}"},
                                 verify=settings.api_verify, **kwargs)
    except httpx.HTTPError as exc:
        typer.echo(f"cannot reach the read API at {settings.api_url} ({exc}); is Vigil "
                   "running (`make up`)? Set VIGIL_API_URL to point elsewhere.", err=True)
        raise typer.Exit(1) from exc
    if response.status_code == 401:
        typer.echo("the read API refused the key: set VIGIL_API_KEY (or --key) to a live key "
                   "of the project", err=True)
        raise typer.Exit(1)
    if response.status_code >= 400:
        try:
            detail = response.json()["detail"]
        except (ValueError, KeyError, TypeError):
            detail = response.text[:500]
        typer.echo(f"refused ({response.status_code}): {plain(detail)}", err=True)
        raise typer.Exit(1)
    return response


def plain(detail: Any) -> str:
    """A FastAPI validation list as one line per problem."""
    if isinstance(detail, list):
        return "; ".join(f"{'.'.join(map(str, d.get('loc', [])))}: {d.get('msg')}"
                         for d in detail if isinstance(d, dict))
    return str(detail)
