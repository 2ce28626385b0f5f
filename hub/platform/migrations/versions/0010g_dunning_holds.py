"""dunning holds: a customer's invoices (or one invoice) disputed, or promised to be paid by a
date, get no overdue notice and no penalty while the hold applies

Revision ID: 0010g
Revises: 0009e
Create Date: 2026-12-06 05:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

from hub.platform.types import UTCDateTime


revision = '0010g'
down_revision = '0009e'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dunning_holds',
    sa.Column('environment', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('until', sa.Date(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('released_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('released_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], ),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('dunning_holds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dunning_holds_environment'), ['environment'], unique=False)
        batch_op.create_index(batch_op.f('ix_dunning_holds_organisation_id'), ['organisation_id'], unique=False)


def downgrade() -> None:
    op.drop_table('dunning_holds')
