"""plan lines remember the day the billing run last made all their actions

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 13:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('plan_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('generated_through', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('plan_lines', schema=None) as batch_op:
        batch_op.drop_column('generated_through')
