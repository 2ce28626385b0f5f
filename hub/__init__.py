"""Cashrail hub: the store and the domain (models, database, security, CLI)."""
