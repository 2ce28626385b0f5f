"""The configured company: its id found by name (or id) once, and kept for the card's next runs."""

from __future__ import annotations

import threading
from typing import Any

from connectors.base import Record
from connectors.business_central.part import BcConnectorPart
from connectors.http import ApiError, NotFoundError

COMPANY_NOT_FOUND = "Internal_CompanyNotFound"
_COMPANY_ID = "business_central.company"  # its key in a sync run's memo: {"for": [...], "id": ...}
#: a run's streams start together: one asks for the company, the others wait for its answer
_COMPANY_LOOKUP = threading.Lock()


class CompanyNotFoundError(NotFoundError):
    """The configured company is not among those the credentials can see."""


class CompanyLookup(BcConnectorPart):
    """``company_id`` and ``company_path`` of the connector it is mixed into."""

    run_memo: dict[str, Any] | None
    _company_id: str | None = None

    def list_companies(self) -> list[Record]:
        """The companies of the environment (``id``, ``name``, ``displayName``)."""
        return list(self.api.get_json("companies").get("value") or [])

    @property
    def company_id(self) -> str:
        """The configured company's id, matched by id or by name/displayName (case-insensitive).

        Looked up once per sync run when the run shares its ``run_memo``, and not at all when the
        memo holds the id found for these same settings (the sync runner keeps it with the card
        between runs): a no-change run then makes one request per stream, not a lookup first. A
        company gone since is found out by its first request (:meth:`company_gone`), which drops
        the id."""
        if self._company_id is not None:
            return self._company_id
        if self.run_memo is None:
            return self._resolve_company()
        wanted = self._company_for()
        with _COMPANY_LOOKUP:
            known = self.run_memo.get(_COMPANY_ID)
            if isinstance(known, dict) and known.get("for") == wanted and isinstance(known.get("id"), str):
                self._company_id = known["id"]
            else:
                self.run_memo[_COMPANY_ID] = {"for": wanted, "id": self._resolve_company()}
        assert self._company_id is not None
        return self._company_id

    def company_path(self, entity_set: str) -> str:
        return f"companies({self.company_id})/{entity_set}"

    def company_gone(self, exc: ApiError) -> CompanyNotFoundError | None:
        """The error to raise when ``exc`` says the company no longer exists (its id is dropped,
        from the run's memo too, so the next run looks it up again); None for any other error."""
        if exc.code != COMPANY_NOT_FOUND:
            return None
        self._company_id = None
        if self.run_memo is not None:
            self.run_memo.pop(_COMPANY_ID, None)
        return CompanyNotFoundError(
            f"company {self.settings.company!r} no longer exists in environment {self.settings.environment!r}",
            code=COMPANY_NOT_FOUND,
            status_code=exc.status_code,
        )

    def _company_for(self) -> list[str]:
        """What a company id found is valid for: the API, tenant, environment and company named."""
        s = self.settings
        return [s.api_url, s.tenant_id, s.environment, s.company.casefold().strip("{}")]

    def _resolve_company(self) -> str:
        wanted = self.settings.company.casefold().strip("{}")
        companies = self.list_companies()
        for company in companies:
            names = (company.get("id"), company.get("name"), company.get("displayName"))
            if any(isinstance(n, str) and n.casefold() == wanted for n in names):
                self._company_id = str(company["id"])
                return self._company_id
        seen = ", ".join(f"{c.get('name')} ({c.get('id')})" for c in companies) or "none"
        raise CompanyNotFoundError(
            f"company {self.settings.company!r} not found in environment "
            f"{self.settings.environment!r}; the credentials can see: {seen}",
            code=COMPANY_NOT_FOUND,
        )
