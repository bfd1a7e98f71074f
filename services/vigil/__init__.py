"""Vigil: monitoring and feedback for LLM applications."""

__version__ = "0.1.0"
