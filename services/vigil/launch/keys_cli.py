"""`vigil keys`: API keys in the key file (create, list, revoke), no server needed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from vigil.settings import Settings

keys_app = typer.Typer(help="API keys in the key file (VIGIL_KEYS_FILE): create, list, "
                       "revoke. Running services pick up changes within seconds.",
                       no_args_is_help=True)


@keys_app.command("create", help=(
    "Create a key; it is printed once (only its hash is stored). A new key has scope read "
    "unless --scope says otherwise; every scope may send events. Keys created before scopes "
    "existed, and the keys of VIGIL_API_KEYS (unless an entry says key=project:scope), have "
    "scope admin: they keep doing all they did."))
def keys_create(project: Annotated[str, typer.Option(help="Project the key writes to and "
                                                     "reads from.")],
                name: Annotated[str, typer.Option(help="What the key is for (shown as who "
                                                  "pushed a prompt or moved a label).")] = "",
                scope: Annotated[str, typer.Option(help=(
                    "read: send events and read the API (an app's key); write: also change "
                    "state (push prompts, move labels, acknowledge tickets); admin: all of "
                    "that (reserved for more)."))] = "read") -> None:
    from vigil.access import keyfile

    settings = Settings()
    try:
        key, stored = keyfile.create(settings.key_file_path, project, name, datetime.now(UTC),
                                      scope)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"key id:  {stored.key_id}\nproject: {stored.project}\nscope:   {stored.scope}\n"
               f"api key: {key}")
    typer.echo("store the key now: it is not shown again", err=True)


@keys_app.command("list")
def keys_list() -> None:
    """Every key's id, project, name, creation and revocation (never the keys)."""
    from vigil.access import keyfile

    keys = keyfile.load(Settings().key_file_path)
    if not keys:
        typer.echo("no keys in the key file")
    for k in keys:
        state = f"revoked {k.revoked_at}" if k.revoked_at else "active"
        typer.echo(f"{k.key_id}  {k.project:<20} {k.name:<24} {k.scope:<6} "
                   f"created {k.created_at}  {state}")


@keys_app.command("revoke")
def keys_revoke(key_id: str) -> None:
    """Revoke a key by its id; services refuse it within seconds."""
    from vigil.access import keyfile

    try:
        stored = keyfile.revoke(Settings().key_file_path, key_id, datetime.now(UTC))
    except KeyError as exc:
        typer.echo(f"no key {key_id!r} in the key file", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"{stored.key_id} revoked at {stored.revoked_at}")
