"""``VigilClient``: record LLM calls and feedback from an app without slowing it down.

Guarantees
- Never blocks the caller. ``record()`` and ``submit_feedback()`` put one small
  tuple on a bounded queue with ``put_nowait``; when the queue is full the event
  is dropped and counted (``dropped["queue_full"]``). Protobufs are built, and
  all I/O happens, on one background sender thread.
- Never raises into the app. Every public method catches its own errors (even
  a misspelled keyword argument) and counts them (``dropped["bad_argument"]``,
  ``last_error``). Only the constructor raises, on invalid settings.
- Loses nothing silently: every event ends ``sent``, ``rejected`` (the
  collector said INVALID_ARGUMENT; ``last_rejection`` says why), spilled to
  disk (and later ``replayed``), or in ``dropped`` under its reason
  (queue_full, sampled_out, spill_full, unauthenticated, bad_argument, closed).
- Survives collector outages and restarts of the app: batches the collector
  cannot take go to the spill directory (one file per batch, atomic write) and
  are replayed oldest first when it answers again, each file deleted only once
  acknowledged; a new client with the same spill directory replays leftovers.
  Replays reuse the event ids, and the collector stores an event id once.
- Sampling is deterministic: a trace is kept when the hash of its trace id is
  below ``sample_rate``, so all calls of a trace share the decision. Feedback is
  never sampled out.
- ``flush()`` and ``close()`` (also run at interpreter exit) return once every
  event recorded before the call is with the collector or in the spill
  directory, or when the timeout passes (then they return False).

Limits: the queue is the only buffer when spilling is off (``max_spill_bytes=0``);
``record()`` keeps references to the prompt's message objects (it copies the
list, not the dicts), so do not mutate them afterwards; after ``os.fork()`` the
child needs its own client.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import os
import queue
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar, cast

from vigil_sdk import stats as reasons
from vigil_sdk.capture import LLMCall, observe
from vigil_sdk.items import (
    Moment,
    PendingFeedback,
    PendingTrace,
    Prompt,
    new_event_id,
    new_trace_id,
)
from vigil_sdk.prompt_cache import Delivery, PromptCache
from vigil_sdk.prompts import Prompt as RegistryPrompt
from vigil_sdk.prompts import fallback_prompt, origin_of
from vigil_sdk.sampling import sampled_in
from vigil_sdk.sender import Sender, SenderConfig
from vigil_sdk.stats import Counters, Stats
from vigil_sdk.transport import GrpcTransport, Transport
from vigil_sdk.variants import variant

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
MIB = 1024 * 1024


def _never_raises(make_default: Callable[[], Any], *, counts_as_drop: bool = False
                  ) -> Callable[[F], F]:
    """Catch everything a public method raises (bad arguments included), count it and
    return ``make_default()`` instead."""

    def decorate(method: F) -> F:
        @functools.wraps(method)
        def guarded(self: VigilClient, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except Exception as exc:
                if counts_as_drop:
                    self._counters.drop(reasons.BAD_ARGUMENT, error=exc)
                else:
                    self._counters.note_error(exc)
                return make_default()
        return cast(F, guarded)

    return decorate


def _nothing() -> None:
    return None


def _unrecorded_call() -> LLMCall:
    """What llm_call() returns when its arguments were unusable: times nothing, records
    nothing, but works in a with-statement so the app runs on."""
    return LLMCall(lambda **_: None, {})


def _identity_decorator() -> Callable[[F], F]:
    return lambda fn: fn


class VigilClient:
    """Sends trace and feedback events to Vigil's collector in the background.

    ``api_key`` decides the project; ``app`` and ``environment`` are set on every
    trace. ``spill_dir`` defaults to ``$XDG_CACHE_HOME/vigil/spill/<hash of
    endpoint and key>`` (``~/.cache/...``); ``max_spill_bytes=0`` turns spilling off.
    ``transport`` replaces the gRPC connection (tests, custom transports).
    Prompts (:meth:`get_prompt`): cached ``prompt_ttl_s``, a first fetch waits at most
    ``prompt_timeout_s``; ``prompt_clock`` (monotonic seconds) drives the cache's TTL and
    ``prompt_fetch(name, label)`` replaces the PromptService call (tests, simulations).
    TLS: ``tls=True`` or an ``https://host:port`` endpoint (system roots), plus
    ``root_certificates`` (PEM bytes or a PEM file path) for a private CA.
    """

    def __init__(self, api_key: str, endpoint: str = "127.0.0.1:50051", *, app: str,
                 environment: str = "production", max_queue: int = 10_000,
                 batch_size: int = 500, flush_interval_s: float = 0.5,
                 spill_dir: str | os.PathLike[str] | None = None,
                 max_spill_bytes: int = 256 * MIB, sample_rate: float = 1.0,
                 timeout_s: float = 5.0, tls: bool = False,
                 root_certificates: bytes | str | os.PathLike[str] | None = None,
                 transport: Transport | None = None, prompt_ttl_s: float = 60.0,
                 prompt_timeout_s: float = 2.0,
                 prompt_clock: Callable[[], float] = time.monotonic,
                 prompt_fetch: Callable[[str, str], Delivery] | None = None) -> None:
        _check_settings(max_queue, batch_size, flush_interval_s, max_spill_bytes, sample_rate,
                        timeout_s)
        if prompt_ttl_s <= 0 or prompt_timeout_s <= 0:
            raise ValueError("prompt_ttl_s and prompt_timeout_s must be positive")
        self._counters = Counters()
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max_queue)
        self._sample_rate = float(sample_rate)
        self._timeout_s = timeout_s
        self._closed = False
        self._close_lock = threading.Lock()
        config = SenderConfig(
            app=app, environment=environment, batch_size=batch_size,
            flush_interval_s=flush_interval_s, max_spill_bytes=max_spill_bytes,
            spill_dir=Path(spill_dir) if spill_dir else default_spill_dir(endpoint, api_key),
        )
        self.spill_dir = config.spill_dir if max_spill_bytes > 0 else None
        transport = transport or GrpcTransport(
            endpoint, api_key, tls=tls, timeout_s=timeout_s,
            root_certificates=_pem(root_certificates))
        self._sender = Sender(self._queue, transport, self._counters, config)
        self._prompt_settings = (endpoint, api_key, tls, _pem(root_certificates), prompt_ttl_s,
                                 prompt_timeout_s, prompt_clock, prompt_fetch)
        self._prompt_cache: PromptCache | None = None
        self._prompt_fetcher: Any = None
        self._prompt_lock = threading.Lock()
        self._sender.start()
        self._at_exit = functools.partial(_close_at_exit, weakref.ref(self))
        atexit.register(self._at_exit)

    # --- recording ----------------------------------------------------------------------

    @_never_raises(_nothing, counts_as_drop=True)
    def record(self, *, model: str, provider: str = "", prompt: Prompt | None = None,
               completion: str | None = None, start: Moment | None = None,
               end: Moment | None = None, input_tokens: int | None = None,
               output_tokens: int | None = None, cached_input_tokens: int | None = None,
               status: str | int | None = None, error_type: str = "", error_message: str = "",
               finish_reason: str = "", trace_id: str | None = None, span_id: str = "",
               parent_span_id: str = "", session_id: str = "", user_id: str = "",
               prompt_template_id: str = "", prompt_template_version: str = "",
               params: Mapping[str, Any] | None = None,
               attributes: Mapping[str, Any] | None = None,
               event_id: str | None = None,
               prompt_template: RegistryPrompt | None = None) -> str | None:
        """Record one LLM call; return its event id, or None if it was not kept.

        ``prompt``: a str (one user message) or messages as {role, content, name}
        dicts (or objects). ``start``/``end``: datetimes (naive = UTC) or epoch
        seconds; ``end`` defaults to now and ``start`` to ``end``. ``status``:
        "ok" or "error" (default: "error" when ``error_type``/``error_message`` is
        set). ``params``: temperature, top_p, max_tokens, stop, response_format,
        seed (other scalar ones become ``param.<name>`` attributes). Token counts
        left unset are estimated by Vigil. ``trace_id`` and ``event_id`` are
        generated when missing. ``prompt_template``: the :class:`Prompt` from
        ``get_prompt`` the call used; without it, a ``prompt`` that ``Prompt.compile()``
        returned links the event the same way (its name and version become
        ``prompt_template_id``/``_version`` unless given, its label, rollout variant and
        rollout id the attributes ``vigil.prompt.*``). Returns at once; never raises.
        """
        if self._closed:
            self._counters.drop(reasons.CLOSED)
            return None
        if trace_id is None:
            trace_id = new_trace_id()
        if self._sample_rate < 1.0 and not sampled_in(trace_id, self._sample_rate):
            self._counters.drop(reasons.SAMPLED_OUT)
            return None
        if event_id is None:
            event_id = new_event_id()
        if end is None:
            end = time.time()
        used = prompt_template or origin_of(prompt)
        if used is not None:
            name, version, linked = used.link()
            prompt_template_id = prompt_template_id or name
            prompt_template_version = prompt_template_version or version
            attributes = {**linked, **(attributes or {})}
        if prompt is not None and not isinstance(prompt, str):
            prompt = tuple(prompt)  # the app may append to its list after the call
        item = PendingTrace(
            event_id, trace_id, model, provider, prompt, completion, start, end, input_tokens,
            output_tokens, cached_input_tokens, status, error_type, error_message,
            finish_reason, span_id, parent_span_id, session_id, user_id, prompt_template_id,
            prompt_template_version, dict(params) if params else None,
            dict(attributes) if attributes else None,
        )
        return event_id if self._enqueue(item) else None

    @_never_raises(_nothing, counts_as_drop=True)
    def submit_feedback(self, trace_id: str, kind: str = "thumbs",
                        value: float | bool | str | None = None, *, comment: str = "",
                        user_id: str = "", feedback_id: str | None = None) -> str | None:
        """Queue feedback on a trace; return its feedback id (None if dropped).

        ``kind``: "thumbs" (value True/1/"up" or False/0/"down"), "score" (0..1) or
        "text" (``comment`` required). Never sampled out; never raises.
        """
        if self._closed:
            self._counters.drop(reasons.CLOSED)
            return None
        feedback_id = feedback_id or new_event_id()
        item = PendingFeedback(feedback_id, trace_id, kind, value, comment, user_id, time.time())
        return feedback_id if self._enqueue(item) else None

    def _enqueue(self, item: object) -> bool:
        """Hand an item to the sender without waiting; a full queue drops it (counted)."""
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self._counters.drop(reasons.QUEUE_FULL)
            return False
        self._counters.add_recorded()
        return True

    @_never_raises(_unrecorded_call, counts_as_drop=True)
    def llm_call(self, *, model: str, provider: str = "", **fields: Any) -> LLMCall:
        """A context manager timing one LLM call (``with`` or ``async with``)::

            with client.llm_call(model="gpt-4o", provider="openai", prompt=msgs) as call:
                reply = llm(msgs)
                call.completion = reply.text
                call.tokens(input=reply.input_tokens, output=reply.output_tokens)

        ``fields`` are any other ``record()`` arguments. An exception in the block
        is recorded as an error and re-raised unchanged.
        """
        return LLMCall(self.record, {"model": model, "provider": provider, **fields})

    @_never_raises(_identity_decorator, counts_as_drop=True)
    def observe(self, *, model: str, provider: str = "", capture_io: bool = True,
                **fields: Any) -> Callable[[F], F]:
        """A decorator recording each call of a (sync or async) function as an LLM
        call; see :func:`vigil_sdk.capture.observe` for what ``capture_io`` takes."""
        def start(call_fields: dict[str, Any]) -> LLMCall:
            return LLMCall(self.record, call_fields)

        return observe(start, capture_io, {"model": model, "provider": provider, **fields})

    def wrap_openai(self, openai_client: T, **fields: Any) -> T:
        """Record every ``chat.completions.create`` of an OpenAI-style client; see
        :func:`vigil_sdk.openai.wrap_openai`."""
        from vigil_sdk.openai import wrap_openai

        return wrap_openai(openai_client, self, **fields)

    # --- prompts ------------------------------------------------------------------------

    def get_prompt(self, name: str, label: str = "production", *, fallback: Any = None,
                   user_id: str = "", session_id: str = "",
                   attributes: Mapping[str, Any] | None = None) -> RegistryPrompt | None:
        """The prompt `label` of `name` points at, from Vigil's registry, as this caller
        gets it: while a rollout runs on the label, the candidate version for the users
        (or sessions, as the rollout splits) that fall in its share and match its segment
        (matched against `attributes`, e.g. ``{"plan": "pro"}``); the same user always
        gets the same version.

        Cached per (name, label) for ``prompt_ttl_s`` (60 s) and refreshed in the
        background before it expires; while the server is down or slow the cached
        version is served (``stats().prompts["stale"]``). The first call for a name and
        label waits for the server at most ``prompt_timeout_s``; if it never answered,
        `fallback` (messages as {role, content} dicts, a text template, or a Prompt) is
        returned as a Prompt with ``is_fallback`` True and version 0, or None without
        one. Never raises.
        """
        try:
            delivery, how = self._prompts().get(name, label)
            self._counters.prompt(how)
            if delivery is None:
                chosen = fallback_prompt(name, label, fallback)
                self._counters.prompt("fallback" if chosen is not None else "none")
                return chosen
            rollout = delivery.rollout
            if rollout is not None:
                side = variant(rollout.rollout_id, rollout.percent, rollout.split_by,
                               rollout.segment, user_id, session_id, attributes or {})
                if side:
                    content = rollout.candidate if side == "candidate" else delivery.prompt
                    return RegistryPrompt(content, label, side, rollout.rollout_id)
            return RegistryPrompt(delivery.prompt, label)
        except Exception as exc:
            self._counters.note_error(exc)
            try:
                return fallback_prompt(name, label, fallback)
            except Exception:
                return None

    def _prompts(self) -> PromptCache:
        """The prompt cache, with its gRPC channel opened on the first get_prompt."""
        if self._prompt_cache is not None:
            return self._prompt_cache
        from vigil_sdk.prompt_transport import GrpcPromptFetcher

        with self._prompt_lock:
            if self._prompt_cache is None:
                endpoint, key, tls, roots, ttl_s, timeout_s, clock, fetch = \
                    self._prompt_settings
                refresh = fetch
                if fetch is None:
                    fetcher = GrpcPromptFetcher(endpoint, key, tls=tls, timeout_s=timeout_s,
                                                root_certificates=roots)
                    self._prompt_fetcher = fetcher
                    fetch = fetcher.fetch
                    refresh = functools.partial(fetcher.fetch, wait_for_ready=True)
                self._prompt_cache = PromptCache(fetch, ttl_s=ttl_s, retry_s=min(5.0, ttl_s),
                                                 clock=clock, on_error=self._prompt_failed,
                                                 refresh_fetch=refresh)
        return self._prompt_cache

    def _prompt_failed(self, exc: BaseException) -> None:
        self._counters.prompt("fetch_error")
        self._counters.note_error(exc)

    # --- lifecycle ----------------------------------------------------------------------

    def stats(self) -> Stats:
        """Counters of what happened to the recorded events so far."""
        return self._counters.snapshot(self._queue.qsize())

    @_never_raises(lambda: False)
    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until every event recorded so far is with the collector or spilled;
        False when `timeout_s` passed first (e.g. collector down and spilling off)."""
        if not self._sender.is_alive():
            return self._counters.settled >= self._counters.recorded
        target = self._counters.recorded
        self._sender.begin_flush()
        try:
            return self._counters.wait_settled(target, timeout_s)
        finally:
            self._sender.end_flush()

    @_never_raises(lambda: False)
    def close(self, timeout_s: float = 5.0) -> bool:
        """Flush, then stop the sender; later calls are dropped as ``closed``.
        True when everything recorded was sent or spilled in time."""
        with self._close_lock:
            if self._closed:
                return not self._sender.is_alive()
            self._closed = True
        deadline = time.monotonic() + timeout_s
        drained = self.flush(timeout_s)
        self._sender.stop()
        self._sender.join(max(0.2, deadline - time.monotonic()))
        if self._prompt_fetcher is not None:
            self._prompt_fetcher.close()
        atexit.unregister(self._at_exit)
        return bool(drained) and not self._sender.is_alive()

    def __enter__(self) -> VigilClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _pem(value: bytes | str | os.PathLike[str] | None) -> bytes | None:
    """Root certificates as PEM bytes: given as bytes, or as the path of a PEM file."""
    if value is None or isinstance(value, bytes):
        return value
    return Path(value).read_bytes()


def default_spill_dir(endpoint: str, api_key: str) -> Path:
    """A per-user cache directory, one per collector and key (a key's events only
    ever go to its own project)."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    digest = hashlib.sha256(f"{endpoint}\n{api_key}".encode()).hexdigest()[:16]
    return Path(cache) / "vigil" / "spill" / digest


def _close_at_exit(ref: weakref.ref[VigilClient]) -> None:
    client = ref()
    if client is not None:
        client.close(client._timeout_s)


def _check_settings(max_queue: int, batch_size: int, flush_interval_s: float,
                    max_spill_bytes: int, sample_rate: float, timeout_s: float) -> None:
    problems = [
        text for bad, text in (
            (max_queue < 1, "max_queue must be at least 1"),
            (batch_size < 1, "batch_size must be at least 1"),
            (flush_interval_s < 0, "flush_interval_s must not be negative"),
            (max_spill_bytes < 0, "max_spill_bytes must not be negative (0 turns spilling off)"),
            (not 0.0 <= sample_rate <= 1.0, "sample_rate must be between 0 and 1"),
            (timeout_s <= 0, "timeout_s must be positive"),
        ) if bad
    ]
    if problems:
        raise ValueError("; ".join(problems))
