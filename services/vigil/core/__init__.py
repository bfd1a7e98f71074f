"""The types and pure functions that cross a stage boundary.

Stages never import each other: they meet through topics, tables and these
modules (alerts, tickets, budgets, prices, PII rules). Core imports no stage.
"""
