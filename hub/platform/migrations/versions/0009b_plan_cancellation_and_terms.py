"""plans: the Cancel reason code, when and by whom a plan was cancelled; the current term's start

Revision ID: 0009b
Revises: 0008
Create Date: 2026-12-06 01:30:00
"""
from alembic import op
import sqlalchemy as sa

import hub.platform.types


revision = '0009b'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('subscription_plans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancel_reason_code', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('cancelled_at', hub.platform.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('cancelled_by', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('term_start', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('billed_through', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('subscription_plans', schema=None) as batch_op:
        batch_op.drop_column('billed_through')
        batch_op.drop_column('term_start')
        batch_op.drop_column('cancelled_by')
        batch_op.drop_column('cancelled_at')
        batch_op.drop_column('cancel_reason_code')
