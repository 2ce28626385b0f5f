"""notification attachments: the invoice image or statement PDF an e-mail carries, stored with its
notification so every retried delivery sends the same bytes

Revision ID: 0010d
Revises: 0009e
Create Date: 2026-12-06 04:50:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

from hub.platform.types import UTCDateTime


revision = '0010d'
down_revision = '0010c'  # after refunds and chargebacks (merged first)
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notification_attachments',
    sa.Column('environment', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notification_id', sa.Integer(), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('media_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['notification_id'], ['notifications.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('notification_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_attachments_environment'), ['environment'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_attachments_notification_id'), ['notification_id'],
                              unique=False)


def downgrade() -> None:
    op.drop_table('notification_attachments')
