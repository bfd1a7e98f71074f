"""The read API's process adapter: the FastAPI app of vigil.api.app served by uvicorn,
with the keys (env + key file), the per-key request limit, TLS when a certificate is
configured, and the store owner's write endpoint when given its writer."""

from __future__ import annotations

import threading
from typing import Any

import uvicorn

from vigil.access.keyring import KeyRing
from vigil.access.ratelimit import RateLimiter
from vigil.api.app import create_app
from vigil.core.budgets import load_budgets
from vigil.runtime.logs import get_logger
from vigil.settings import Settings


def api_server(settings: Settings, store: object, writer: object = None) -> uvicorn.Server:
    """The read API as a uvicorn server: keys (env + key file), per-key request limit, TLS
    when a certificate is configured; with the store owner's writer, the internal write
    endpoint too."""
    limiter = RateLimiter(settings.rate_limit_api_requests_per_s,
                          settings.rate_limit_api_burst, "requests")
    app = create_app(store, KeyRing.from_settings(settings),  # type: ignore[arg-type]
                     settings.internal_token.get_secret_value(), budgets(settings),
                     limiter=limiter, store_writer=writer,  # type: ignore[arg-type]
                     store_write_max_bytes=settings.store_write_max_bytes)
    host, _, port = settings.api_listen.rpartition(":")
    tls = {"ssl_certfile": str(settings.tls_cert_file),
           "ssl_keyfile": str(settings.tls_key_file)} if settings.tls else {}
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=int(port), log_level="warning",
                                           **tls))  # type: ignore[arg-type]
    scheme = "https" if settings.tls else "http"
    get_logger(__name__).info("read API listening", url=f"{scheme}://{settings.api_listen}")
    return server


def serve_api_in_thread(settings: Settings, store: object, writer: object = None) -> None:
    server = api_server(settings, store, writer)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    threading.Thread(target=server.run, name="read-api", daemon=True).start()


def budgets(settings: Settings) -> list[Any]:
    return load_budgets(settings.budgets_file) if settings.budgets_file else []
