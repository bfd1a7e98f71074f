"""Ingest: the gRPC front door. Validates, authenticates, and acknowledges an
event only once Kafka confirmed its write to the raw traces topic."""
