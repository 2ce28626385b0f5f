"""What the billing configuration chooses for the customer documents (seeds 001 and 002).

* The balance mode in force for an invoice: the mode changes are a history of (mode, first
  issue day it applies to); an invoice issued on a day takes the last change in force then.
  A change takes effect from the next billing cycle: by default, from the day after it is
  made (invoices already issued keep the mode they were shown in).
* *Invoice Image Data*: an ordered list of image sources; the first source that has an image of
  the invoice wins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import TypeVar

from hub.collections.rules.balance_modes import InvoiceMode
from hub.collections.rules.errors import CollectionRuleError

DEFAULT_MODE = InvoiceMode.DYNAMIC
T = TypeVar("T")


class ImageSource(StrEnum):
    """Where an invoice's image comes from."""

    PSA = "psa"  # the PSA's own invoice PDF (Kaseya BMS)
    ERP = "erp"  # the ERP's sales invoice PDF (Business Central's pdfDocument)
    CASHRAIL = "cashrail"  # Cashrail's own rendering, with the balance block

    @property
    def label(self) -> str:
        return {"psa": "PSA invoice PDF", "erp": "ERP sales invoice PDF", "cashrail": "Cashrail rendering"}[self.value]


DEFAULT_IMAGE_SOURCES: tuple[ImageSource, ...] = (ImageSource.PSA, ImageSource.ERP, ImageSource.CASHRAIL)


@dataclass(frozen=True)
class ModeChange:
    """``mode`` applies to invoices issued on ``effective_from`` or later (None: always)."""

    mode: InvoiceMode
    effective_from: date | None = None

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "mode", InvoiceMode(self.mode))
        except ValueError:
            raise CollectionRuleError("balance_mode", f"must be dynamic, static or batch, not {self.mode!r}") from None


def mode_on(changes: Sequence[ModeChange], issue_date: date | None) -> InvoiceMode:
    """The balance mode of an invoice issued on ``issue_date`` (None: the mode in force now)."""
    mode = DEFAULT_MODE
    for change in sorted(changes, key=lambda c: c.effective_from or date.min):
        if issue_date is None or change.effective_from is None or change.effective_from <= issue_date:
            mode = change.mode
    return mode


def image_order(value: Iterable[str]) -> tuple[ImageSource, ...]:
    """The *Invoice Image Data* order from names ("psa", "erp", "cashrail"), each at most once.

    Raises:
        CollectionRuleError: an unknown source, one listed twice, or an empty list.
    """
    order: list[ImageSource] = []
    for name in value:
        try:
            source = ImageSource(str(name).strip().lower())
        except ValueError:
            raise CollectionRuleError(
                "image_sources", f"no image source {name!r} (psa, erp or cashrail)") from None
        if source in order:
            raise CollectionRuleError("image_sources", f"{source.value} is listed twice")
        order.append(source)
    if not order:
        raise CollectionRuleError("image_sources", "list at least one source (psa, erp, cashrail)")
    return tuple(order)


def first_image(order: Sequence[ImageSource], fetch: Callable[[ImageSource], T | None]) -> tuple[ImageSource, T] | None:
    """The first source in ``order`` whose ``fetch`` has the image (None when none has)."""
    for source in order:
        found = fetch(source)
        if found is not None:
            return source, found
    return None
