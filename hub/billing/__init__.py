"""Subscription billing: pure domain rules (no Prefect, HTTP or database in this package)."""
