"""`vigil prompts`: the prompt registry from the terminal, through the running read API
(VIGIL_API_URL, VIGIL_API_KEY), like `vigil stats`. Pushing and moving labels need a key
with scope write; the others any key of the project."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from vigil.core.prompt_history import render_diff
from vigil.core.prompts import PromptError, parse_content
from vigil.core.rollouts import SPLITS, check_guards, parse_segment
from vigil.launch.api_client import call_api
from vigil.settings import DEMO_API_KEY

prompts_app = typer.Typer(
    help="The prompt registry: push versions, show, diff, move labels, roll back, and roll "
    "a version out to a share of the traffic.",
    no_args_is_help=True)
KeyOption = Annotated[str, typer.Option(envvar="VIGIL_API_KEY", help=(
    "API key of the project (scope write to push, label and roll back)."))]
_REF = re.compile(r"^(?P<name>[^@:]+)(?:@(?P<version>\d+)|:(?P<label>[^@:]+))?$")


@prompts_app.command("push")
def push(name: str,
         file: Annotated[Path, typer.Option("--file", "-f", help=(
             "YAML or JSON: `messages: [{role, content}]` or `template:`, optional `model:` "
             "and `params:` (temperature, max_tokens, response_format, tools)."))],
         message: Annotated[str, typer.Option("--message", "-m", help="Commit message.")] = "",
         key: KeyOption = DEMO_API_KEY) -> None:
    """Push FILE as the next version of NAME (none if identical to the newest)."""
    doc = _read_prompt_file(file)
    answer = _call("POST", f"/v1/prompts/{name}/versions", key, json={**doc, "message": message})
    if answer["created"]:
        typer.echo(f"{name}: pushed version {answer['version']}")
    else:
        typer.echo(f"{name}: identical to version {answer['version']}, the newest: "
                   "no new version")


@prompts_app.command("list")
def list_prompts(key: KeyOption = DEMO_API_KEY) -> None:
    """Every prompt of the project: newest version, number of versions, labels."""
    rows = _call("GET", "/v1/prompts", key)["prompts"]
    if not rows:
        typer.echo("no prompts yet: push one with `vigil prompts push NAME --file FILE`")
    for p in rows:
        labels = ", ".join(f"{k}={v}" for k, v in p["labels"].items()) or "no labels"
        typer.echo(f"{p['name']:<32} v{p['latest_version']:<5} {p['versions']:>4} versions  "
                   f"{labels}  (updated {p['updated_at']})")


@prompts_app.command("show")
def show(ref: Annotated[str, typer.Argument(metavar="NAME[@VERSION|:LABEL]", help=(
             "greet (the newest), greet@3 (version 3) or greet:production (a label)."))],
         key: KeyOption = DEMO_API_KEY) -> None:
    """A version's messages (or template), model, parameters and variables."""
    match = _REF.match(ref)
    if match is None:
        typer.echo(f"{ref!r} is not NAME, NAME@VERSION or NAME:LABEL", err=True)
        raise typer.Exit(2)
    params = {k: v for k, v in (("version", match["version"]), ("label", match["label"])) if v}
    v = _call("GET", f"/v1/prompts/{match['name']}", key, params=params)
    labels = f"  labels: {', '.join(v['labels'])}" if v["labels"] else ""
    typer.echo(f"{v['name']}@{v['version']} (of {v['latest_version']}){labels}")
    typer.echo(f"pushed {v['pushed_at']} by {v['pushed_by']}: {v['commit_message'] or '-'}")
    typer.echo(f"model: {v['model'] or '-'}  params: {json.dumps(v['params'])}")
    typer.echo(f"variables: {', '.join(v['variables']) or '-'}\n")
    if v["kind"] == "text":
        typer.echo(v["template"])
    for m in v["messages"]:
        typer.echo(f"[{m['role']}]\n{m['content']}")


@prompts_app.command("diff")
def diff(name: str, v1: int, v2: int, key: KeyOption = DEMO_API_KEY) -> None:
    """What changed from V1 to V2: model, parameters, lines of the messages or template."""
    result = _call("GET", f"/v1/prompts/{name}/diff", key,
                   params={"from_version": v1, "to_version": v2})
    typer.echo(render_diff(result))


@prompts_app.command("label")
def label(name: str, version: int, label: str, key: KeyOption = DEMO_API_KEY) -> None:
    """Point LABEL of NAME at VERSION (the move is recorded: who, when, from, to)."""
    m = _call("POST", f"/v1/prompts/{name}/labels/{label}", key, json={"version": version})
    typer.echo(f"{name}: {label} {_from(m)} -> {m['to_version']}")


@prompts_app.command("rollback")
def rollback(name: str, label: str, key: KeyOption = DEMO_API_KEY) -> None:
    """Point LABEL back where it was before its last move (a second rollback undoes it)."""
    m = _call("POST", f"/v1/prompts/{name}/labels/{label}/rollback", key)
    typer.echo(f"{name}: {label} rolled back {m['from_version']} -> {m['to_version']}")


@prompts_app.command("history")
def history(name: str, key: KeyOption = DEMO_API_KEY) -> None:
    """The versions of NAME and every label move, newest first."""
    h = _call("GET", f"/v1/prompts/{name}/history", key)
    labels = ", ".join(f"{k}={v}" for k, v in h["labels"].items()) or "none"
    typer.echo(f"{name}: labels {labels}\n\nversions:")
    for v in h["versions"]:
        typer.echo(f"  v{v['version']:<5} {v['pushed_at']}  {v['pushed_by']:<20} "
                   f"{v['commit_message'] or '-'}")
    typer.echo("\nlabel moves:" if h["moves"] else "\nno label moves")
    for m in h["moves"]:
        typer.echo(f"  {m['at']}  {m['label']:<16} {_from(m)} -> {m['to_version']:<5} "
                   f"by {m['by']}{' (rollback)' if m['reason'] == 'rollback' else ''}")


@prompts_app.command("rollout")
def rollout(
    name: str, label: str,
    to: Annotated[int, typer.Option("--to", help="The candidate version.")],
    percent: Annotated[float, typer.Option("--percent", min=0, max=100, help=(
        "Share of the label's traffic (0-100) that gets the candidate."))],
    by: Annotated[str, typer.Option("--by", help=(
        "Unit of the split: user (the user_id the app passes to get_prompt) or session "
        "(its session_id). A unit keeps its variant for the rollout's life."))] = "user",
    segment: Annotated[list[str] | None, typer.Option("--segment", help=(
        "KEY=VALUE (repeatable): only callers whose get_prompt attributes match enter the "
        "split, e.g. --segment plan=pro --segment region=eu; a key given twice accepts "
        "either value."))] = None,
    guard: Annotated[str, typer.Option("--guard", help=(
        "Comma-separated guards to record: quality, errors, latency, cost."))] = "",
    auto_promote: Annotated[bool, typer.Option("--auto-promote", help=(
        "Record that the label should move to the candidate once the guards see no "
        "regression."))] = False,
    key: KeyOption = DEMO_API_KEY) -> None:
    """Roll VERSION out to PERCENT of LABEL's traffic (the rest keeps the label's version).

    Run it again with the same --to to change the percent, segment or guards; stop it with
    `vigil prompts rollout-stop NAME LABEL`.
    """
    if by not in SPLITS:
        typer.echo(f"--by must be user or session, not {by!r}", err=True)
        raise typer.Exit(2)
    try:
        parsed = parse_segment(segment or [])
        guards = check_guards([g.strip() for g in guard.split(",") if g.strip()])
    except PromptError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    r = _call("POST", f"/v1/prompts/{name}/rollouts/{label}", key, json={
        "to_version": to, "percent": percent, "by": by,
        "segment": {k: list(v) for k, v in parsed.items()}, "guards": list(guards),
        "auto_promote": auto_promote})
    verb = "rolling out" if r["action"] == "start" else "rollout changed:"
    typer.echo(f"{name}: {label} {verb} version {r['candidate_version']} to "
               f"{_percent(r['percent'])} by {r['by']} (control: version "
               f"{r['control_version']}){_rollout_details(r)}")


@prompts_app.command("rollout-status")
def rollout_status(name: str, label: str, key: KeyOption = DEMO_API_KEY) -> None:
    """The running rollout of LABEL and its history (starts, changes, stops)."""
    s = _call("GET", f"/v1/prompts/{name}/rollouts/{label}", key)
    r = s["rollout"]
    if r is None:
        typer.echo(f"{name}: no rollout runs on {label} (version {s['label_version']})")
    else:
        typer.echo(f"{name}: {label} rolling out version {r['candidate_version']} to "
                   f"{_percent(r['percent'])} by {r['by']} (control: version "
                   f"{r['control_version']}){_rollout_details(r)}\n  rollout "
                   f"{r['rollout_id']}, since {r['at']}")
    if s["history"]:
        typer.echo("\nhistory:")
    for h in s["history"]:
        typer.echo(f"  {h['at']}  {h['action']:<6} v{h['candidate_version']:<5} "
                   f"{_percent(h['percent']):>7}  by {h['changed_by']}")


@prompts_app.command("rollout-stop")
def rollout_stop(name: str, label: str, key: KeyOption = DEMO_API_KEY) -> None:
    """Stop the rollout of LABEL: everyone gets the label's version again."""
    r = _call("POST", f"/v1/prompts/{name}/rollouts/{label}/stop", key)
    typer.echo(f"{name}: rollout of version {r['candidate_version']} on {label} stopped; "
               f"everyone gets version {r['control_version']}")


def _percent(value: float) -> str:
    return f"{value:g}%"


def _rollout_details(r: dict[str, Any]) -> str:
    parts = []
    if r["segment"]:
        parts.append("segment " + " ".join(f"{k}={'|'.join(v)}" for k, v in r["segment"].items()))
    if r["guards"]:
        parts.append(f"guards {','.join(r['guards'])}")
    if r["auto_promote"]:
        parts.append("auto-promote")
    return f"; {'; '.join(parts)}" if parts else ""


def _from(move: dict[str, Any]) -> str:
    return str(move["from_version"]) if move["from_version"] else "(new)"


def _read_prompt_file(path: Path) -> dict[str, Any]:
    """The file's document, checked here so that a mistake is named before any request."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        typer.echo(f"cannot read {path}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from exc
    except yaml.YAMLError as exc:
        typer.echo(f"{path} is not YAML or JSON: {exc}", err=True)
        raise typer.Exit(2) from exc
    try:
        parse_content(doc)
    except PromptError as exc:
        typer.echo(f"{path}: {exc}", err=True)
        raise typer.Exit(2) from exc
    return dict(doc)


def _call(method: str, path: str, key: str, **kwargs: Any) -> Any:
    return call_api(method, path, key, **kwargs).json()
