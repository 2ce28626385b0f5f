"""Kaseya BMS (PSA) connector."""

from connectors.bms.client import BmsConnector, BmsSecrets, BmsSettings

__all__ = ["BmsConnector", "BmsSecrets", "BmsSettings"]
