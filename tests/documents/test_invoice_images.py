"""Invoice Image Data (seed 002): the first source in the configured order that has the invoice
wins — BMS's PDF, then Business Central's pdfDocument, else Cashrail's own rendering."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hub.documents import images
from hub.documents import settings as document_settings
from hub.documents.render import invoice_html, invoice_lines
from hub.documents.rules.choices import ImageSource
from hub.platform.db import session
from hub.platform.models import Invoice
from tests.cli.runner import run
from tests.documents.image_world import ENV, ImageWorld, image_world  # noqa: F401


def _image(invoice_id: int) -> tuple[ImageSource, bytes]:
    return images.invoice_image(ENV, invoice_id)


def test_with_bms_first_a_bms_invoice_shows_the_bms_pdf(image_world: ImageWorld) -> None:
    source, pdf = _image(image_world.psa_invoice)
    assert source == ImageSource.PSA and pdf.startswith(b"%PDF-")
    assert f"Invoice {image_world.psa_number}".encode() in pdf and b"Acme MSP" in pdf


def test_without_the_bms_pdf_the_erps_sales_invoice_pdf_is_shown(image_world: ImageWorld) -> None:
    image_world.withhold_psa_pdf()
    source, pdf = _image(image_world.psa_invoice)
    assert source == ImageSource.ERP and f"Sales Invoice {image_world.erp_number}".encode() in pdf


def test_without_either_cashrails_own_rendering_is_shown(image_world: ImageWorld) -> None:
    image_world.withhold_psa_pdf()
    image_world.withhold_erp_pdf()
    source, pdf = _image(image_world.psa_invoice)
    assert source == ImageSource.CASHRAIL and pdf.startswith(b"%PDF-") and len(pdf) > 1000


def test_the_order_is_the_settings_order(image_world: ImageWorld) -> None:
    with session(ENV) as s:
        document_settings.update(s, image_sources=["erp", "psa", "cashrail"])
    assert _image(image_world.psa_invoice)[0] == ImageSource.ERP
    with session(ENV) as s:
        document_settings.update(s, image_sources=["cashrail", "psa"])
    assert _image(image_world.psa_invoice)[0] == ImageSource.CASHRAIL


def test_an_erp_invoice_without_a_psa_counterpart_falls_to_the_erps_pdf(image_world: ImageWorld) -> None:
    with session(ENV) as s:
        row = s.get(Invoice, image_world.erp_invoice)
        assert row is not None
        row.raw = {"externalDocumentNumber": "NOT-IN-BMS"}
    assert _image(image_world.erp_invoice)[0] == ImageSource.ERP


def test_cashrails_rendering_carries_the_lines_totals_and_balance_block(image_world: ImageWorld) -> None:
    from hub.documents.balance import balance_block

    with session(ENV) as s:
        invoice = s.get(Invoice, image_world.psa_invoice)
        assert invoice is not None
        # the PSA invoice is the copy of the ERP's (the receivable of record): the block is its twin's
        block = balance_block(s, image_world.erp_org, invoice_number=image_world.erp_number,
                              as_of=invoice.invoice_date)
        html = invoice_html(invoice, invoice_lines(s, invoice), "Both Sides Ltd", block, "Acme Accounts")
    assert block is not None and block.amount_due > 0
    for text in ("Managed services, November", "MSP-GOLD", "$120.00", "Previous Balance", "Payments/Adjustments",
                 "Current Charges", "Amount Due", "Dynamic Mode", "Acme Accounts"):
        assert text in html, text


def test_invoice_pdf_from_the_command_line(image_world: ImageWorld, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "invoice.pdf"
    code, out, err = run(monkeypatch, capsys, "collect", "invoice-pdf", str(image_world.psa_invoice),
                         "--out", str(target), "--json")
    assert code == 0, err
    assert json.loads(out)["source"] == "psa" and target.read_bytes().startswith(b"%PDF-")
    code, _, err = run(monkeypatch, capsys, "collect", "invoice-pdf", "NO-SUCH", "--out", str(target))
    assert code == 1 and "no invoice" in err and len(err.strip().splitlines()) == 1
