"""reconciliation runs: each comparison of the payments between the gateway, the hub, the ERP and
the PSA keeps the drifts it found (the dashboard shows their count)

Revision ID: 0010a
Revises: 0009e
Create Date: 2026-12-06 05:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

from hub.platform.types import UTCDateTime


revision = '0010a'
down_revision = '0010g'  # after the dunning holds (merged first)
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reconciliation_runs',
    sa.Column('environment', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('started_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('payments_checked', sa.Integer(), nullable=False),
    sa.Column('drift_count', sa.Integer(), nullable=False),
    sa.Column('drifts', sa.JSON(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('reconciliation_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reconciliation_runs_environment'), ['environment'], unique=False)


def downgrade() -> None:
    op.drop_table('reconciliation_runs')
