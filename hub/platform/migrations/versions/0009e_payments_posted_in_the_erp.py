"""payments posted in the ERP: a charge knows when its payment was posted there (or why it waits
for a person), an invoice's collection state what of it the ERP already shows, and a charge that
pays several invoices at once its part of each

Revision ID: 0009e
Revises: 0009b
Create Date: 2026-12-06 01:40:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

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
        batch_op.add_column(sa.Column('figures_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.create_table('charge_allocations',
    sa.Column('environment', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('charge_id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('amount', Money(precision=20, scale=4), nullable=False),
    sa.ForeignKeyConstraint(['charge_id'], ['charges.id'], ),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('charge_id', 'invoice_id', name='uq_charge_allocation_invoice')
    )
    with op.batch_alter_table('charge_allocations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_charge_allocations_environment'), ['environment'], unique=False)
        batch_op.create_index(batch_op.f('ix_charge_allocations_charge_id'), ['charge_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_charge_allocations_invoice_id'), ['invoice_id'], unique=False)


def downgrade() -> None:
    op.drop_table('charge_allocations')
    with op.batch_alter_table('invoice_collections', schema=None) as batch_op:
        batch_op.drop_column('figures_hash')
        batch_op.drop_column('amount_posted')
    with op.batch_alter_table('charges', schema=None) as batch_op:
        batch_op.drop_column('post_note')
        batch_op.drop_column('posted_at')
