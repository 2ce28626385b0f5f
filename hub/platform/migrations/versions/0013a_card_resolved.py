"""connectors: what a card's sync runs looked up from its settings (Business Central's company id
for the company's name), kept with the card so the next run need not ask the source again

Revision ID: 0013a_card_resolved
Revises: 0012a_test_results
Create Date: 2026-12-07 02:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0013a_card_resolved'
down_revision = '0012a_test_results'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('connectors', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resolved', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('connectors', schema=None) as batch_op:
        batch_op.drop_column('resolved')
