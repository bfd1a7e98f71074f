"""The `vigil` command: run the whole system, or one service of it, and inspect it."""

from __future__ import annotations

import asyncio
import dataclasses
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vigil.demo.stack import DEMO_RATE
from vigil.launch.api_client import call_api
from vigil.launch.keys_cli import keys_app
from vigil.launch.prompts_cli import prompts_app
from vigil.launch.tickets_cli import tickets_app
from vigil.runtime.logs import configure_logging, get_logger
from vigil.settings import DEMO_API_KEY, Settings, redact_url

if TYPE_CHECKING:

    from vigil.store.writer import StoreWriter

app = typer.Typer(
    help="Vigil: event-driven monitoring and feedback for LLM applications.\n\n"
    "Every setting comes from the environment (VIGIL_*, see README.md).",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
)
KeyOption = Annotated[str, typer.Option(envvar="VIGIL_API_KEY", help="API key of the project.")]


# The services that read or write the internal topics: they sign and check records with
# VIGIL_INTERNAL_TOKEN and refuse to start without it (vigil.kafka.signing).
SIGNING_SERVICES = frozenset({"ingest", "enrich", "judge", "sink", "analyze", "notify"})


def _setup(service: str) -> Settings:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format, service)
    if service in SIGNING_SERVICES:
        _require_internal_secret(settings)
    from vigil.runtime.metrics import serve_metrics

    serve_metrics(settings.metrics_port, settings.metrics_host)
    if service in ("ingest", "sink", "api"):  # the processes that take API keys
        from vigil.access.keyring import warn_if_demo_key

        warn_if_demo_key(settings)
    return settings


def _require_internal_secret(settings: Settings) -> None:
    from vigil.kafka.signing import MissingSecret, internal_secret

    try:
        internal_secret(settings)
    except MissingSecret as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


@app.command()
def up(
    demo_rate: Annotated[float, typer.Option(help="Demo events per second (0: no demo).")]
    = DEMO_RATE,
) -> None:
    """Run everything on embedded defaults: broker, store, all services, demo traffic.

    Ctrl-C stops the demo and ingest first, waits until every accepted event is
    stored, then stops the rest.
    """
    from vigil.launch.up import run_all

    raise typer.Exit(run_all(Settings(), demo_rate))


@app.command()
def ingest() -> None:
    """Run the gRPC ingest service (VIGIL_INGEST_LISTEN)."""
    from vigil.ingest.worker import serve

    settings = _setup("ingest")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(settings, stop)

    asyncio.run(main())


@app.command()
def enrich() -> None:
    """Run the enrich stage (faust worker): cost, tokens, PII masking."""
    from vigil.enrich.worker import run
    from vigil.kafka.topics import ensure_topics

    settings = _setup("enrich")
    ensure_topics(settings)
    run(settings)


@app.command()
def judge() -> None:
    """Run the judge stage (faust worker): sampled quality scores, within the budget."""
    from vigil.judge.worker import run
    from vigil.kafka.topics import ensure_topics

    settings = _setup("judge")
    ensure_topics(settings)
    run(settings)


analyze_app = typer.Typer(invoke_without_command=True, help=(
    "Run the analyzer (no subcommand): anomalies per slice -> alerts, persistent quality "
    "problems -> retraining tickets (one instance acts when several run). "
    "`vigil analyze backtest` replays it over stored history."))
app.add_typer(analyze_app, name="analyze")


@analyze_app.callback()
def analyze(ctx: typer.Context) -> None:
    """Run the analyzer: anomalies per slice -> alerts, persistent quality problems ->
    retraining tickets (one instance acts when several run)."""
    if ctx.invoked_subcommand is not None:
        return
    from vigil.analyze.worker import run
    from vigil.kafka.topics import ensure_topics

    settings = _setup("analyze")
    ensure_topics(settings)
    run(settings, _stop_on_signals())


@analyze_app.command("backtest")
def analyze_backtest(
    start: Annotated[str, typer.Option("--from", help="Start, ISO 8601 (UTC if no zone).")],
    end: Annotated[str, typer.Option("--to", help="End, ISO 8601 (UTC if no zone).")],
    rules: Annotated[Path | None, typer.Option(
        help="Threshold rules YAML (default: VIGIL_ANALYZER_RULES_FILE).")] = None,
    budgets: Annotated[Path | None, typer.Option(
        help="Budgets YAML (default: VIGIL_BUDGETS_FILE).")] = None,
    json_file: Annotated[Path | None, typer.Option(
        "--json", help="Also write every alert event to this file (a JSON list).")] = None,
) -> None:
    """Replay the analyzer over stored history on a simulated clock and print every alert
    it would have fired and resolved. Reads through the read API (VIGIL_API_URL, with
    VIGIL_INTERNAL_TOKEN as the analyzer does); pages no one and writes nothing."""
    from vigil.analyze.backtest_cli import backtest_command

    configure_logging("WARNING", "console", "backtest")
    update: dict[str, Any] = {}
    if rules is not None:
        update["analyzer_rules_file"] = rules
    if budgets is not None:
        update["budgets_file"] = budgets
    raise typer.Exit(backtest_command(Settings().model_copy(update=update), start, end,
                                      json_file))


@app.command("import")
def import_history(
    file: Annotated[Path, typer.Argument(help="JSONL: one trace event, {\"feedback\": ...} or "
                                         "{\"score\": ...} per line.")],
    key: KeyOption = DEMO_API_KEY,
    rejects: Annotated[Path | None, typer.Option(
        help="Where the refused lines go, with their numbers and reasons "
        "(default: FILE.rejects.jsonl).")] = None,
) -> None:
    """Load history (for backtests) with the validation, enrichment and built-in judging of
    live traffic, timestamps kept as given. Writes into the store, or through the store
    owner when VIGIL_STORE_WRITER_URL is set; importing a file twice stores it once."""
    from vigil.launch.import_cli import import_command

    configure_logging("WARNING", "console", "import")
    raise typer.Exit(import_command(Settings(), file, key, rejects))


@app.command()
def notify() -> None:
    """Deliver alerts to the webhooks of VIGIL_NOTIFY_CONFIG_FILE (Slack, PagerDuty, JSON)."""
    from vigil.kafka.topics import ensure_topics
    from vigil.notify.worker import run

    settings = _setup("notify")
    if settings.notify_config_file is None:
        typer.echo("set VIGIL_NOTIFY_CONFIG_FILE to a webhooks file (see examples/notify.yaml)",
                   err=True)
        raise typer.Exit(2)
    ensure_topics(settings)
    run(settings, settings.notify_config_file, _stop_on_signals())


app.add_typer(tickets_app, name="tickets")
app.add_typer(prompts_app, name="prompts")
app.add_typer(keys_app, name="keys")


@app.command()
def sink(
    api: Annotated[bool | None, typer.Option(
        help="Serve the read API from this process (default: on with the embedded store, "
        "which no other process may open; off when writing through VIGIL_STORE_WRITER_URL)."
    )] = None,
) -> None:
    """Run the sink: enriched traces and feedback into ClickHouse.

    With VIGIL_STORE_WRITER_URL set it opens no store: it writes through the read API
    of the sink that owns the store (one more worker sharing the partitions)."""
    from vigil.kafka.topics import ensure_topics
    from vigil.sink.worker import TraceSink

    settings = _setup("sink")
    if settings.store_writer_url:
        writer = _remote_writer(settings, api)
    else:
        writer = _store_owner(settings, api)
    ensure_topics(settings)
    try:
        TraceSink(settings, writer).run(_stop_on_signals())
    finally:
        writer.close()


def _remote_writer(settings: Settings, api: bool | None) -> StoreWriter:
    from vigil.store.remote_writer import RemoteStoreWriter

    if api:
        typer.echo("--api needs the store: a sink writing through VIGIL_STORE_WRITER_URL "
                   "serves no API", err=True)
        raise typer.Exit(2)
    if not settings.internal_token.get_secret_value():
        typer.echo("VIGIL_STORE_WRITER_URL needs VIGIL_INTERNAL_TOKEN (the store owner's)",
                   err=True)
        raise typer.Exit(2)
    get_logger(__name__).info("writing through the store owner",
                              url=redact_url(settings.store_writer_url))
    return RemoteStoreWriter.from_settings(settings)


def _store_owner(settings: Settings, api: bool | None) -> StoreWriter:
    """Open and migrate the store; serve the API (with the write endpoint) if asked."""
    from vigil.store.client import open_store
    from vigil.store.migrate import migrate
    from vigil.store.writer import LocalStoreWriter

    store = open_store(settings)
    migrate(store, settings.retention_days)
    writer = LocalStoreWriter(store)
    if api if api is not None else store.embedded:
        from vigil.api.worker import serve_api_in_thread

        serve_api_in_thread(settings, store, writer)
    return writer


@app.command()
def api() -> None:
    """Run the read API alone (production: against a ClickHouse server)."""
    from vigil.api.worker import api_server
    from vigil.store.client import open_store
    from vigil.store.migrate import migrate

    settings = _setup("api")
    store = open_store(settings)
    migrate(store, settings.retention_days)
    api_server(settings, store).run()


@app.command()
def demo(
    rate: Annotated[float, typer.Option(help="Events per second.")] = 50,
    duration: Annotated[float | None, typer.Option(help="Seconds to run (default: forever).")]
    = None,
    target: Annotated[str | None, typer.Option(help="Ingest host:port.")] = None,
    key: KeyOption = DEMO_API_KEY,
    backfill_minutes: Annotated[float, typer.Option(
        help="Minutes of history to send first, up to now (0: none).")] = 0,
    schedule_start: Annotated[datetime | None, typer.Option(
        help="Start of the incident schedule, ISO 8601 UTC (default: once the back-fill "
        "is sent).")] = None,
    ready_file: Annotated[Path | None, typer.Option(
        help="Written once the back-fill is sent; when it exists, no back-fill.")] = None,
) -> None:
    """Send realistic demo traffic (apps, models, sessions, errors, feedback, scheduled
    incidents) to ingest."""
    from vigil.demo.traffic import run_demo

    settings = _setup("demo")
    start = None if schedule_start is None else (
        schedule_start.replace(tzinfo=UTC) if schedule_start.tzinfo is None else schedule_start)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        stats = await run_demo(target or settings.ingest_listen, key, rate, duration, stop,
                               schedule_start=start, backfill_minutes=backfill_minutes,
                               ready_file=ready_file, log=get_logger("vigil.demo"))
        get_logger(__name__).info("demo stopped", **dataclasses.asdict(stats))

    asyncio.run(main())


@app.command("demo-judge")
def demo_judge(
    listen: Annotated[str | None, typer.Option(
        help="host:port (default: VIGIL_DEMO_JUDGE_LISTEN).")] = None,
) -> None:
    """Serve the demo's stand-in LLM judge: an OpenAI-compatible chat-completions endpoint
    that scores answers with a heuristic (labelled as demo, not an LLM)."""
    from vigil.demo.judge_server import make_server

    settings = _setup("demo-judge")
    host, _, port = (listen or settings.demo_judge_listen).rpartition(":")
    server = make_server(host or "127.0.0.1", int(port))
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    get_logger(__name__).info("demo judge serving", listen=f"{host}:{port}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@app.command()
def stats(key: KeyOption = DEMO_API_KEY) -> None:
    """Print what is stored: trace and feedback counts, cost by model (via the read API)."""
    response = call_api("GET", "/v1/stats", key)
    s = response.json()
    typer.echo(f"project {s['project_id']}: {s['traces']} traces "
               f"({s['distinct_event_ids']} distinct), {s['errors']} errors, "
               f"{s['feedback']} feedback, cost ${s['cost_usd']:.4f}, "
               f"{s['unpriced']} unpriced, {s['tokens_estimated']} with estimated tokens, "
               f"last stored {s['last_stored_at']}")
    typer.echo(f"{'provider':<12}{'model':<28}{'traces':>9}{'cost USD':>12}"
               f"{'in tokens':>12}{'out tokens':>12}{'p95 ms':>10}")
    for m in s["by_model"]:
        typer.echo(f"{m['provider']:<12}{m['model']:<28}{m['traces']:>9}{m['cost_usd']:>12.4f}"
                   f"{m['input_tokens']:>12}{m['output_tokens']:>12}{m['latency_p95_ms']:>10.0f}")


@app.command()
def migrate(
    rollback_to: Annotated[int | None, typer.Option(
        help="Undo every migration above this version instead.")] = None,
) -> None:
    """Apply the ClickHouse migrations (the sink and the API also do it at start-up)."""
    from vigil.store.client import open_store
    from vigil.store.migrate import migrate as apply
    from vigil.store.migrate import rollback

    settings = _setup("migrate")
    store = open_store(settings)
    done = (rollback(store, rollback_to) if rollback_to is not None
            else apply(store, settings.retention_days))
    typer.echo(f"{'rolled back' if rollback_to is not None else 'applied'}: {done or 'nothing'}")


@app.command()
def topics() -> None:
    """Create Vigil's topics (and dead-letter topics) on the configured Kafka."""
    from vigil.kafka.topics import ensure_topics

    settings = _setup("topics")
    created = ensure_topics(settings)
    typer.echo("topics ready: " + ", ".join(created.all))


@app.command()
def broker(
    port: Annotated[int, typer.Option(help="Port to listen on (127.0.0.1).")] = 19092,
) -> None:
    """Run the embedded Kafka-protocol broker (Tansu, in memory) in the foreground."""
    from vigil.kafka.broker import start_broker

    proc = start_broker("127.0.0.1", port)
    typer.echo(f"broker on 127.0.0.1:{port} (in memory); Ctrl-C stops it")
    stop = _stop_on_signals()
    stop.wait()
    proc.terminate()
    proc.wait(10)


@app.command()
def config(markdown: Annotated[bool, typer.Option(help="Print a Markdown table.")] = False
           ) -> None:
    """List every setting: its environment variable, current value and meaning."""
    settings = Settings()
    rows = []
    for name, field in Settings.model_fields.items():
        env = ("KAFKA_BOOTSTRAP_SERVERS" if name == "kafka_bootstrap_servers"
               else f"VIGIL_{name.upper()}")
        value = getattr(settings, name)
        shown = ("(secret)" if "Secret" in type(value).__name__
                 else redact_url(value) if name == "clickhouse_url" and value else value)
        default = "(secret)" if name == "api_keys" else field.default
        rows.append((env, default, shown, field.description or ""))
    if markdown:
        typer.echo("| variable | default | meaning |\n|---|---|---|")
        for env, default, _, doc in rows:
            typer.echo(f"| `{env}` | `{default}` | {doc} |")
        return
    for env, _, shown, doc in rows:
        typer.echo(f"{env:<36} {shown!s:<28} {doc}")
