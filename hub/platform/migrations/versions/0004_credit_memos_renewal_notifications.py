"""credit memos and renewal-notice notifications on subscription actions

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 13:05:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import hub.platform.types


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('subscription_actions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credit_memo_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('credit_memo_number', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('notified_at', hub.platform.types.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('subscription_actions', schema=None) as batch_op:
        batch_op.drop_column('notified_at')
        batch_op.drop_column('credit_memo_number')
        batch_op.drop_column('credit_memo_id')
