"""Microsoft Dynamics 365 Business Central (ERP) connector."""

from connectors.business_central.client import BcSecrets, BcSettings, BusinessCentralConnector

__all__ = ["BcSecrets", "BcSettings", "BusinessCentralConnector"]
