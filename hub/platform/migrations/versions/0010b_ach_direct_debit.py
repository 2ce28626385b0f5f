"""ACH direct debit: a mandate's date and account type on its payment method, the form a card
request asks for (card or bank account), and an ACH debit's settlement, return and reversal on
its charge

Revision ID: 0010b
Revises: 0010g
Create Date: 2026-12-06 04:40:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

from hub.platform.types import UTCDateTime


revision = '0010b'
down_revision = '0010a'  # after reconciliation runs (merged first)
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('payment_methods', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mandate_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('account_type', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
    with op.batch_alter_table('card_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('method', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                                      server_default='card'))
    with op.batch_alter_table('charges', schema=None) as batch_op:
        batch_op.add_column(sa.Column('settlement', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.add_column(sa.Column('returned_at', UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('returned_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('return_code', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True))
        batch_op.add_column(sa.Column('return_reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch_op.add_column(sa.Column('reversed_at', UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reversal_ref', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('reversal_error', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_charges_settlement'), ['settlement'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('charges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_charges_settlement'))
        for name in ('reversal_error', 'reversal_ref', 'reversed_at', 'return_reason', 'return_code', 'returned_on', 'returned_at',
                     'settlement'):
            batch_op.drop_column(name)
    with op.batch_alter_table('card_requests', schema=None) as batch_op:
        batch_op.drop_column('method')
    with op.batch_alter_table('payment_methods', schema=None) as batch_op:
        batch_op.drop_column('account_type')
        batch_op.drop_column('mandate_date')
