"""Enrich: raw traces -> masked text, token counts, cost, latency -> enriched traces."""
