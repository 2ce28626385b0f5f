"""Hub rows the dunning and notification tests share: cards, customers and their contacts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import SecretStr
from sqlmodel import Session

from hub.platform.models import Connector, Contact, Invoice, Organisation, OrganisationLink
from hub.sync import cards

SMTP_FROM = "ar@msp.example.com"


def bms_card(s: Session, url: str = "http://127.0.0.1:9", *, active: bool = True, name: str = "psa") -> Connector:
    card = cards.create(s, cards.CardSpec(
        name=name, kind="bms", environment=s.info["environment"],
        settings={"company": "Acme MSP", "username": "api.cashrail", "server_url": url, "rate_limit_per_hour": 0,
                  "sandbox": True},
        secrets={"password": SecretStr("sandbox-pass")}))
    card.status = "active" if active else "draft"
    s.add(card)
    s.flush()
    return card


def erp_card(s: Session, name: str = "erp") -> Connector:
    """A Business Central card row (never called in these tests)."""
    card = Connector(environment=s.info["environment"], name=name, kind="business_central", status="active")
    s.add(card)
    s.flush()
    return card


def organisation(s: Session, card: Connector, external_id: str, name: str, **fields: Any) -> Organisation:
    raw = fields.pop("raw", None)
    if raw is None:
        raw = {"Id": external_id, "Locations": [{"Id": int(external_id) * 10, "IsPrimary": True}]}
    org = Organisation(environment=s.info["environment"], connector_id=card.id, external_id=external_id,
                       content_hash="x", name=name, raw=raw, **fields)
    s.add(org)
    s.flush()
    return org


def contact(s: Session, org: Organisation, email: str, *, language: str | None = None, billing: bool = True,
            first: str = "Ina", last: str = "Berg") -> Contact:
    row = Contact(environment=s.info["environment"], connector_id=org.connector_id,
                  external_id=f"c-{org.external_id}-{email}", content_hash="x",
                  organisation_external_id=org.external_id, first_name=first, last_name=last, email=email,
                  language=language, is_billing_contact=billing)
    s.add(row)
    s.flush()
    return row


def link(s: Session, psa: Organisation, erp: Organisation) -> None:
    s.add(OrganisationLink(environment=s.info["environment"], psa_organisation_id=psa.id,
                           erp_organisation_id=erp.id, method="manual"))
    s.flush()


def invoice(s: Session, org: Organisation, number: str, total: str, due: date, **fields: Any) -> Invoice:
    row = Invoice(environment=s.info["environment"], connector_id=org.connector_id, external_id=f"i-{number}",
                  content_hash="x", number=number, organisation_external_id=org.external_id,
                  invoice_date=fields.pop("invoice_date", due), due_date=due, currency=fields.pop("currency", "EUR"),
                  total=Decimal(total), amount_due=Decimal(fields.pop("amount_due", total)), **fields)
    s.add(row)
    s.flush()
    return row
