"""The SDK's own version (the distribution's, read by hatch; sent in every event's "sdk" tag)."""

__version__ = "0.1.0"
