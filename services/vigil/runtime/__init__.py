"""What every process runs on: structured logs, Prometheus metrics, TLS credentials."""
