"""Shared test support: factories of events, polling with deadlines, seeded API data,
loopback HTTP servers (webhooks, an OpenAI-compatible judge), fault and fuzz helpers."""
