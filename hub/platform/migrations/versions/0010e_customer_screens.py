"""customer screens: the customers list pages by name (an index), and the linking review keeps the
pairs the rules could not decide and those an administrator rejected

Revision ID: 0010e
Revises: 0009e
Create Date: 2026-12-06 04:55:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

from hub.platform.types import UTCDateTime


revision = '0010e'
down_revision = '0010d'  # after notification attachments (merged first)
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.create_index('ix_organisations_env_name', ['environment', 'name', 'id'], unique=False)
    op.create_table('link_candidates',
    sa.Column('environment', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('psa_organisation_id', sa.Integer(), nullable=False),
    sa.Column('erp_organisation_id', sa.Integer(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['psa_organisation_id'], ['organisations.id'], ),
    sa.ForeignKeyConstraint(['erp_organisation_id'], ['organisations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('psa_organisation_id', 'erp_organisation_id', name='uq_link_candidate_pair')
    )
    with op.batch_alter_table('link_candidates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_link_candidates_environment'), ['environment'], unique=False)
        batch_op.create_index(batch_op.f('ix_link_candidates_psa_organisation_id'), ['psa_organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_link_candidates_erp_organisation_id'), ['erp_organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_link_candidates_state'), ['state'], unique=False)


def downgrade() -> None:
    op.drop_table('link_candidates')
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_index('ix_organisations_env_name')
