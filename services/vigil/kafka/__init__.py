"""Kafka plumbing shared by the stages: topic names, topic creation, the embedded broker."""
