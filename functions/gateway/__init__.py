"""The gateway: an OpenAI-compatible router with a usage ledger and a budget guard."""
