"""Notify: alerts from the analyzer -> on-call webhooks (Slack, PagerDuty, signed generic)."""
