"""Vigil's wire contract as Python: the code generated from protos/vigil/v1/*.proto.

Shipped in the vigil-sdk distribution and imported from there by both the SDK and
the server (one generated package, no copy). Regenerate with `make protos`.
"""
