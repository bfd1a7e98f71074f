"""Demo traffic: a seeded world of LLM apps and the adapter that sends it to ingest.

Only the launch layer runs it (``vigil demo``, started by ``vigil up``); no stage imports it.

Pure part (no clock, no I/O): ``world`` (``DemoWorld``: users and open conversations,
the trace and feedback events they produce), ``conversation`` (one session and the event
of its next turn), ``content`` (messages, answers, PII, errors, ids), ``feedback``,
``catalog`` (model, template and app specs; the models) and ``apps`` (the four apps).
Adapter: ``traffic`` (``run_demo``: the paced loop) and ``sender`` (the gRPC calls, their
retries and counts).
"""
