"""connectors: the card's last Test Connection (when, each check with its state, the permission a
failed one needs and how to grant it), kept with the card so a restart of the web app still shows it

Revision ID: 0012a_test_results
Revises: 0011e
Create Date: 2026-12-06 23:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012a_test_results'
down_revision = '0011e'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('connectors', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_test', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('connectors', schema=None) as batch_op:
        batch_op.drop_column('last_test')
