"""The one base of the Business Central connector's parts (sales-document writes, payment
journals, reversals, print-outs): what each reads from the connector it is mixed into."""

from __future__ import annotations

from connectors.business_central.api import BcApiClient
from connectors.business_central.settings import BcSettings


class BcConnectorPart:
    """A part of the Business Central connector: its API client, settings and company path."""

    api: BcApiClient
    settings: BcSettings

    def company_path(self, entity_set: str) -> str:  # the connector's own
        raise NotImplementedError
