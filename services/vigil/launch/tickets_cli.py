"""`vigil tickets`: the retraining tickets of a project, through the read API."""

from __future__ import annotations

from typing import Annotated

import typer

from vigil.launch.api_client import call_api
from vigil.settings import DEMO_API_KEY

KeyOption = Annotated[str, typer.Option(envvar="VIGIL_API_KEY", help="API key of the project.")]

tickets_app = typer.Typer(help="Retraining tickets: list, show, export, acknowledge, resolve.",
                          no_args_is_help=True)


@tickets_app.command("list")
def tickets_list(key: KeyOption = DEMO_API_KEY,
                 status: Annotated[str | None, typer.Option(
                     help="open, acknowledged or resolved")] = None) -> None:
    """The project's tickets, newest first."""
    params = {"status": status} if status else {}
    rows = call_api("GET", "/v1/tickets", key, **params).json()["tickets"]
    if not rows:
        typer.echo("no tickets")
    for t in rows:
        typer.echo(f"{t['ticket_id']}  {t['status']:<12} {t['signal']:<18} "
                   f"{t['dataset_size']:>5} traces  {t['title']}")


@tickets_app.command("show")
def tickets_show(ticket_id: str, key: KeyOption = DEMO_API_KEY) -> None:
    """A ticket with its description, metrics and worst examples."""
    t = call_api("GET", f"/v1/tickets/{ticket_id}", key).json()
    typer.echo(f"{t['title']}\nstatus {t['status']}, opened {t['opened_at']}, "
               f"reopened {t['reopened']}x\n\n{t['description']}")
    typer.echo(f"before {t['before']}  after {t['after']}")
    for ex in t["examples"]:
        typer.echo(f"- {ex['trace_id']} score={ex['score']} {ex['feedback']}: "
                   f"{ex['completion'][:100]!r}")


@tickets_app.command("export")
def tickets_export(ticket_id: str, key: KeyOption = DEMO_API_KEY,
                   format: Annotated[str, typer.Option(help="jsonl (chat fine-tuning) or csv")]
                   = "jsonl",
                   output: Annotated[str | None, typer.Option(
                       "--output", "-o", help="File to write (default: stdout)")] = None
                   ) -> None:
    """The ticket's candidate dataset, PII masked."""
    body = call_api("GET", f"/v1/tickets/{ticket_id}/dataset", key, format=format).text
    if output:
        with open(output, "w", encoding="utf-8") as f:
            f.write(body)
        typer.echo(f"wrote {output}")
    else:
        typer.echo(body, nl=False)


@tickets_app.command("ack")
def tickets_ack(ticket_id: str, key: KeyOption = DEMO_API_KEY) -> None:
    """Acknowledge a ticket."""
    typer.echo(call_api("POST", f"/v1/tickets/{ticket_id}/acknowledge", key).json()["status"])


@tickets_app.command("resolve")
def tickets_resolve(ticket_id: str, key: KeyOption = DEMO_API_KEY) -> None:
    """Resolve a ticket (it reopens if the problem recurs)."""
    typer.echo(call_api("POST", f"/v1/tickets/{ticket_id}/resolve", key).json()["status"])
