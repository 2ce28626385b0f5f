"""payments posted in the ERP: a charge knows when its payment was posted there (or why it waits
for a person), and an invoice's collection state what of it the ERP already shows

Revision ID: 0009e
Revises: 0008
Create Date: 2026-12-06 01:40:00
"""
from alembic import op
import sqlalchemy as sa

from hub.platform.types import Money, UTCDateTime


revision = '0009e'
down_revision = '0009b'  # after the plan lifecycle's migration (merged first)
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('charges', schema=None) as batch_op:
        batch_op.add_column(sa.Column('posted_at', UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('post_note', sa.Text(), nullable=True))
    with op.batch_alter_table('invoice_collections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('amount_posted', Money(precision=20, scale=4), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('figures_hash', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('invoice_collections', schema=None) as batch_op:
        batch_op.drop_column('figures_hash')
        batch_op.drop_column('amount_posted')
    with op.batch_alter_table('charges', schema=None) as batch_op:
        batch_op.drop_column('post_note')
        batch_op.drop_column('posted_at')
