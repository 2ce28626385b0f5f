"""ConnectWise PSA (Manage) connector."""

from connectors.connectwise.client import ConnectWiseConnector, ConnectWiseSecrets, ConnectWiseSettings

__all__ = ["ConnectWiseConnector", "ConnectWiseSecrets", "ConnectWiseSettings"]
