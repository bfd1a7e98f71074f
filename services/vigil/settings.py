"""One typed settings object, built once per process from the environment.

Every variable is `VIGIL_<FIELD>` (e.g. `VIGIL_CLICKHOUSE_URL`), except the
broker address, which also answers to the conventional `KAFKA_BOOTSTRAP_SERVERS`.
Stage code never reads the environment: it receives this object (and, for a
config file that names the variable holding a secret, `Settings.environ()`).
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

EMBEDDED_BROKER = "127.0.0.1:19092"
DEMO_API_KEY = "vigil-demo-key"
EARLIEST_TIMESTAMP = datetime(2000, 1, 1, tzinfo=UTC)
MAX_CALL_DURATION_S = 86_400.0
MAX_JSON_DEPTH = 64


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VIGIL_", extra="ignore")

    # Kafka
    kafka_bootstrap_servers: str = Field(
        EMBEDDED_BROKER,
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "VIGIL_KAFKA_BOOTSTRAP_SERVERS"),
        description="Kafka brokers, host:port[,host:port]. Unset: the embedded local broker.",
    )
    kafka_session_timeout_ms: int = Field(
        10_000, description="Consumer group session timeout. Kafka rejects < 6000 by default; "
        "the embedded broker is started with 2000 to make rebalances fast.")
    kafka_heartbeat_interval_ms: int = Field(3_000, description="Consumer heartbeat interval.")
    kafka_partitions: int = Field(4, ge=1, description="Partitions of every topic Vigil creates.")
    kafka_replication_factor: int = Field(1, ge=1, description="Replication of created topics.")
    kafka_max_attempts: int = Field(
        3, ge=1, description="Tries a consumer gives a record (or batch) that fails with an "
        "error of unknown kind before it dead-letters it with the error's type and message "
        "(bad input is dead-lettered at once; a store or broker outage is retried without "
        "limit).")
    topic_prefix: str = Field("vigil.", description="Prefix of every topic name.")

    # Storage
    clickhouse_url: str | None = Field(
        None, description="ClickHouse server over HTTP, e.g. http://user:pass@host:8123/vigil. "
        "Unset: embedded ClickHouse (chdb) in VIGIL_DATA_DIR/clickhouse.")
    clickhouse_database: str = Field("vigil", description="Database that holds Vigil's tables.")
    data_dir: Path = Field(Path(".vigil"), description="Local state: embedded store, logs.")
    retention_days: int = Field(90, ge=1, description="Days a stored row is kept, counted "
                                "from when it was stored (imported history too).")

    # Ingest
    ingest_listen: str = Field("127.0.0.1:50051", description="gRPC ingest address host:port.")
    otlp_http_listen: str = Field(
        "127.0.0.1:4318", description="OTLP/HTTP receiver (POST /v1/traces) host:port; empty: "
        "off. OTLP/gRPC is served on the ingest port.")
    otlp_non_llm_spans: str = Field(
        "keep", pattern="^(keep|drop)$", description="OTLP spans that are not LLM calls: 'keep' "
        "them (table spans, the trace tree) or 'drop' them.")
    api_keys: SecretStr = Field(
        SecretStr(f"{DEMO_API_KEY}=demo"),
        description="API keys and their projects: 'key1=project-a,key2=project-b'; added to "
        "the keys of VIGIL_KEYS_FILE. Set it empty to use only the key file. These keys have "
        "the admin scope unless the entry names one ('key=project:read').")
    keys_file: Path | None = Field(
        None, description="JSON file of hashed API keys managed with `vigil keys`; services "
        "re-read it when it changes. Unset: VIGIL_DATA_DIR/keys.json.")
    max_event_bytes: int = Field(256 * 1024, description="Largest accepted trace event.")
    max_request_bytes: int = Field(16 * 1024 * 1024, description="Largest gRPC request, "
                                   "OTLP/HTTP body (also once decompressed).")
    max_batch_events: int = Field(10_000, description="Most events in one EmitBatch message "
                                  "or spans in one OTLP request.")
    rate_limit_events_per_s: float = Field(
        0, ge=0, description="Events per second one API key may send to ingest (gRPC, OTLP); "
        "over it: RESOURCE_EXHAUSTED / HTTP 429 with when to retry. 0: no limit.")
    rate_limit_events_burst: float = Field(
        0, ge=0, description="Most events a key may send at once (the bucket size); 0: one "
        "second's worth.")
    rate_limit_api_requests_per_s: float = Field(
        0, ge=0, description="Read API requests per second per API key (HTTP 429 over it); "
        "0: no limit.")
    rate_limit_api_burst: float = Field(0, ge=0, description="Most read API requests a key "
                                        "may make at once; 0: one second's worth.")
    max_future_skew_s: float = Field(
        3600, ge=0, description="How far ahead of the server's clock any timestamp may be "
        "(a call's start and end, a feedback's time, an OTLP span's).")
    earliest_timestamp: datetime = Field(
        EARLIEST_TIMESTAMP, description="The earliest timestamp ingest accepts in any field "
        "(a call's start must also be within VIGIL_RETENTION_DAYS).")
    max_call_duration_s: float = Field(
        MAX_CALL_DURATION_S, gt=0, description="Longest call (end_time - start_time) or "
        "OTLP span ingest accepts; a longer one is INVALID_ARGUMENT naming end_time.")
    max_json_depth: int = Field(
        MAX_JSON_DEPTH, ge=2, le=128, description="Deepest nesting of arrays and objects in JSON "
        "ingest parses: an OTLP/JSON body (deeper: HTTP 400) or a span's JSON attribute such "
        "as gen_ai.input.messages (deeper: that span is rejected).")
    ack_timeout_s: float = Field(5.0, description="Longest wait for Kafka to confirm a write; "
                                 "past it the sender gets UNAVAILABLE.")
    record_max_events: int = Field(500, description="Most events in one Kafka record.")
    record_linger_ms: float = Field(25.0, description="How long ingest waits to fill a record "
                                    "(fuller records cost every stage less per event: at 2,430 "
                                    "events/s, 25 ms kept emit-to-queryable p95 at 1.6 s where "
                                    "5 ms fell behind).")
    ingest_max_pending_events: int = Field(
        50_000, ge=0, description="Most events ingest holds before Kafka confirmed them (about "
        "50 MB of 1 KB events); past it new calls get RESOURCE_EXHAUSTED / HTTP 429 'ingest is "
        "overloaded' instead of growing memory. 0: no bound.")

    # Enrich
    pii_masking: bool = Field(True, description="Mask PII in prompts and completions.")
    pii_kinds: str = Field("email,phone,card,secret", description="PII kinds to mask.")
    price_overrides_file: Path | None = Field(
        None, description="YAML with prices of custom or fine-tuned models.")

    # Judge
    judge_rate: float = Field(0.05, ge=0, le=1, description="Share of traces judged "
                              "(deterministic on the trace id); rules in VIGIL_JUDGE_CONFIG_FILE.")
    judge_budget_usd_per_day: float = Field(10.0, ge=0, description="LLM-judge spend per "
                                            "project and UTC day; past it, no LLM judgments.")
    judge_config_file: Path | None = Field(
        None, description="YAML with rates per project/app/model/prompt version, always-include "
        "rules, per-project budgets (examples/judge.yaml).")
    judge_llm_base_url: str = Field("", description="OpenAI-compatible endpoint of the LLM "
                                    "judge, e.g. https://api.openai.com/v1; empty: built-in "
                                    "evaluators only.")
    judge_llm_model: str = Field("gpt-4o-mini", description="Model of the LLM judge.")
    judge_llm_provider: str = Field("openai", description="Provider of the judge model, for "
                                    "its cost.")
    judge_llm_api_key: SecretStr = Field(SecretStr(""), description="API key of the judge "
                                         "endpoint.")
    judge_llm_rubrics: str = Field("helpfulness", description="Rubrics the LLM judge applies: "
                                   "helpfulness, faithfulness, safety, format.")
    judge_llm_timeout_s: float = Field(30.0, description="Timeout of one judge call.")
    judge_llm_concurrency: int = Field(8, ge=1, description="Judge calls in flight at most.")

    # Analyzer
    analyzer_interval_s: float = Field(60.0, description="Seconds between analysis cycles.")
    analyzer_window_minutes: int = Field(15, ge=1, description="Minutes each cycle judges.")
    analyzer_history_days: float = Field(8.0, description="History read at start-up for "
                                         "the seasonal baselines.")
    analyzer_cooldown_minutes: float = Field(30.0, description="Minutes a resolved alert "
                                             "stays quiet before it may fire again.")
    analyzer_rules_file: Path | None = Field(None, description="YAML of threshold rules "
                                             "(examples/rules.yaml).")
    budgets_file: Path | None = Field(None, description="YAML of spend budgets per project / "
                                      "app / user and day / month (examples/budgets.yaml).")
    analyzer_drift_every_cycles: int = Field(15, ge=1, description="Drift is checked "
                                             "every this many cycles.")
    drift_window_minutes: int = Field(60, ge=1, description="Current window of drift checks.")
    drift_reference_days: int = Field(
        7, ge=0, le=28, description="Reference of a drift check: the current window's hours "
        "on each of the previous N days, so daily seasonality is not drift (0: trailing only).")
    drift_reference_hours: float = Field(24.0, description="Trailing reference before the "
                                         "window, used while those days have too few traces.")
    drift_reference_period: str = Field(
        "", description="A pinned drift reference instead of the trailing one: "
        "'<ISO start>/<ISO end>', e.g. 2026-11-01T00:00Z/2026-11-08T00:00Z.")
    drift_min_samples: int = Field(200, ge=10, description="Traces per window a drift test "
                                   "needs (smaller slices are not tested).")
    ticket_webhook_url: str = Field("", description="Where new retraining tickets are "
                                    "POSTed (a body GitHub Issues and Jira accept).")
    ticket_persist_windows: int = Field(3, ge=1, description="Windows a quality problem "
                                        "must persist before a retraining ticket opens.")
    notify_config_file: Path | None = Field(None, description="YAML of alert webhooks "
                                            "(examples/notify.yaml).")

    # Sink
    sink_batch_rows: int = Field(20_000, description="Most rows per ClickHouse insert.")
    sink_batch_seconds: float = Field(0.5, description="Longest wait to fill an insert.")
    store_writer_url: str = Field(
        "", description="A sink that does not own the embedded store writes through the "
        "owner's read API (e.g. http://127.0.0.1:8700; needs VIGIL_INTERNAL_TOKEN); that sink "
        "opens no store and serves no API. Empty: write to the store directly.")
    store_write_max_bytes: int = Field(
        32 * 1024 * 1024, ge=1024, description="Largest body the store owner accepts on its "
        "internal write endpoint; sinks writing through it split batches below it.")

    # Read API
    api_listen: str = Field("127.0.0.1:8700", description="Read API address host:port.")
    internal_token: SecretStr = Field(
        SecretStr(""), description="Secret shared by every Vigil service: the key of the "
        "signatures on internal topic records and the token of the read API's internal "
        "endpoints. Required by ingest, enrich, judge, sink, analyze and notify (they refuse "
        "to start without it); `vigil up` keeps one in VIGIL_DATA_DIR/internal-token when "
        "unset; `vigil api` alone without it: internal endpoints off.")
    api_url: str = Field("http://127.0.0.1:8700", description="Where the CLI finds the read API "
                         "(and ingest, whose PromptService answers from it).")
    prompt_fetch_timeout_s: float = Field(
        5.0, gt=0, description="Longest wait of ingest's PromptService for the read API's "
        "answer; past it the app gets UNAVAILABLE (the SDK serves its cached version).")

    # TLS
    tls_cert_file: Path | None = Field(
        None, description="PEM certificate (chain) of this service; with VIGIL_TLS_KEY_FILE "
        "the gRPC ingest port, OTLP/HTTP and the read API serve TLS only.")
    tls_key_file: Path | None = Field(None, description="PEM private key of "
                                      "VIGIL_TLS_CERT_FILE.")
    tls_ca_file: Path | None = Field(
        None, description="CA bundle the CLI and the analyzer trust for an https:// "
        "VIGIL_API_URL (e.g. a private CA); unset: the system's.")

    # vigil up
    embedded_broker_listen: str = Field(
        EMBEDDED_BROKER, description="Where `vigil up` starts the embedded broker host:port "
        "when KAFKA_BOOTSTRAP_SERVERS is unset.")
    dashboard_listen: str = Field("127.0.0.1:8501", description="Where `vigil up` serves the "
                                  "Streamlit dashboard host:port; empty: no dashboard.")
    dashboard_url: str = Field("", description="Base URL of the dashboard as on-call opens it "
                               "(e.g. https://vigil.example.com): every alert the notifier "
                               "sends links to the view of its slice there. Empty: `vigil "
                               "up` uses its own dashboard's address; elsewhere no links.")
    demo_judge_listen: str = Field("127.0.0.1:8791", description="Where `vigil up` serves "
                                   "the demo's stand-in LLM judge (a heuristic, not an LLM) "
                                   "host:port while demo traffic runs and "
                                   "VIGIL_JUDGE_LLM_BASE_URL is unset.")
    up_restart_delay_s: float = Field(1.0, gt=0, description="`vigil up` restarts a crashed "
                                      "service after this long, doubling with every crash "
                                      "inside VIGIL_UP_CRASH_WINDOW_S.")
    up_restart_max_delay_s: float = Field(30.0, gt=0, description="Longest wait before a "
                                          "restart.")
    up_max_crashes: int = Field(5, ge=1, description="Crashes of one service inside "
                                "VIGIL_UP_CRASH_WINDOW_S after which `vigil up` stops restarting "
                                "it, stores what the broker holds and stops.")
    up_crash_window_s: float = Field(60.0, gt=0, description="Window of VIGIL_UP_MAX_CRASHES, "
                                     "in seconds.")

    # Observability
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING, ERROR.")
    log_format: str = Field("json", description="json or console.")
    metrics_port: int = Field(0, description="Prometheus /metrics port of this process; 0: off.")
    metrics_host: str = Field("127.0.0.1", description="Address /metrics listens on: loopback "
                              "by default; 0.0.0.0 for a scraper on another host (as in k8s/).")

    @field_validator("log_format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value not in ("json", "console"):
            raise ValueError("must be 'json' or 'console'")
        return value

    @field_validator("earliest_timestamp")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    @field_validator("drift_reference_period")
    @classmethod
    def _period(cls, value: str) -> str:
        if value:
            start, sep, end = value.partition("/")
            if not sep or datetime.fromisoformat(start) >= datetime.fromisoformat(end):
                raise ValueError("must be '<ISO start>/<ISO end>' with start before end")
        return value

    @model_validator(mode="after")
    def _tls_pair(self) -> Settings:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("set both VIGIL_TLS_CERT_FILE and VIGIL_TLS_KEY_FILE, or neither")
        return self

    @property
    def tls(self) -> bool:
        return self.tls_cert_file is not None

    @property
    def key_file_path(self) -> Path:
        return self.keys_file or self.data_dir / "keys.json"

    @property
    def api_verify(self) -> ssl.SSLContext | bool:
        """httpx's `verify` for calls to the read API."""
        return ssl.create_default_context(cafile=self.tls_ca_file) if self.tls_ca_file else True

    @property
    def embedded_store(self) -> bool:
        return not self.clickhouse_url

    @property
    def pii_kind_set(self) -> frozenset[str]:
        return frozenset(k.strip() for k in self.pii_kinds.split(",") if k.strip())

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    def group(self, stage: str) -> str:
        """The consumer group of a stage: deployments with their own topic prefix on one
        Kafka never share a group."""
        return f"{self.topic_prefix}{stage}"

    @property
    def external_kafka(self) -> bool:
        """Whether brokers were configured (KAFKA_BOOTSTRAP_SERVERS or its VIGIL_ twin);
        if not, `vigil up` starts the embedded one."""
        return "kafka_bootstrap_servers" in self.model_fields_set

    def environ(self) -> Mapping[str, str]:
        """The process environment, for config files that name the variable holding a
        secret (the notifier's `secret_env`, `routing_key_env`)."""
        return os.environ


def redact_url(url: str) -> str:
    """The URL without its password (for banners and `vigil config`)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
