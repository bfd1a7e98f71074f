"""The launch layer: the `vigil` command line and the `vigil up` supervisor.

It wires the stages together into processes; no stage imports it.
"""
