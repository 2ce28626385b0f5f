"""charges: what a payment left beyond what its invoices owed (an over-payment), kept as the
customer's credit; and the gateway's processing fee for it, kept apart from the payment

Revision ID: 0011d
Revises: 0010f
Create Date: 2026-12-06 20:20:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

from hub.platform.types import Money


revision = '0011d'
down_revision = '0010f'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('charges', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credit', Money(precision=20, scale=4), nullable=True))
        batch_op.add_column(sa.Column('fee', Money(precision=20, scale=4), nullable=True))
        batch_op.add_column(sa.Column('fee_currency', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('charges', schema=None) as batch_op:
        batch_op.drop_column('fee_currency')
        batch_op.drop_column('fee')
        batch_op.drop_column('credit')
