"""invoices: a customer's invoices by issue day and by number (the balance block's and the
statement's range probes over one account, not a scan of all its invoices)

Revision ID: 0011e
Revises: 0011d
Create Date: 2026-12-06 21:35:00
"""
from alembic import op


revision = '0011e'
down_revision = '0011d'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.create_index('ix_invoices_account_day', ['connector_id', 'organisation_external_id', 'invoice_date'],
                              unique=False)
        batch_op.create_index('ix_invoices_account_number', ['connector_id', 'organisation_external_id', 'number'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_index('ix_invoices_account_number')
        batch_op.drop_index('ix_invoices_account_day')
