"""Demo traffic: a seeded world of LLM apps and the adapter that sends it to ingest."""
