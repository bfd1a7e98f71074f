"""The read API: every read of the store goes through it (the dashboard, `vigil stats`)."""
