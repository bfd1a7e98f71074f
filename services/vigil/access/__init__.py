"""Who may call and how much: API keys (the key ring every entry point checks, the
key file `vigil keys` writes) and the per-key rate limits."""
