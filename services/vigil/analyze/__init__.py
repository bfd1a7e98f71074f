"""Analyze: drift, anomalies and budgets over the stored data -> alerts and retraining tickets."""
