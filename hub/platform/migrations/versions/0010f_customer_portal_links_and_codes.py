"""customer portal: each customer's link version (raising it revokes every link handed out) and the
one-time codes e-mailed to a customer's contacts

Revision ID: 0010f
Revises: 0010g
Create Date: 2026-12-06 04:45:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

from hub.platform.types import UTCDateTime


revision = '0010f'
down_revision = '0010e'  # after the customer screens (merged first)
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('portal_access',
    sa.Column('environment', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('link_version', sa.Integer(), nullable=False),
    sa.Column('revoked_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('environment', 'organisation_id', name='uq_portal_access_organisation')
    )
    with op.batch_alter_table('portal_access', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_access_environment'), ['environment'], unique=False)
        batch_op.create_index(batch_op.f('ix_portal_access_organisation_id'), ['organisation_id'], unique=False)
    op.create_table('portal_codes',
    sa.Column('environment', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('used_at', UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], ),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('portal_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_codes_environment'), ['environment'], unique=False)
        batch_op.create_index(batch_op.f('ix_portal_codes_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_portal_codes_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_table('portal_codes')
    op.drop_table('portal_access')
