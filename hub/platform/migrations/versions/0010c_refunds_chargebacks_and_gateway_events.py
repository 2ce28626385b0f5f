"""refunds, chargebacks and the gateway's webhook events: a refund of a charge (keyed, its ERP
credit entry), a chargeback with its fee kept apart, and each processed IPN stored once by its key

Revision ID: 0010c
Revises: 0010g
Create Date: 2026-12-06 04:29:21
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
from hub.platform.types import Money, UTCDateTime


revision = '0010c'
down_revision = '0010b'  # after ACH direct debit (merged first)
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('gateway_events',
    sa.Column('environment', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connector_id', sa.Integer(), nullable=False),
    sa.Column('delivery_id', sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('transaction_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('received_at', UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['connector_id'], ['connectors.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('environment', 'connector_id', 'delivery_id', name='uq_gateway_event')
    )
    with op.batch_alter_table('gateway_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_gateway_events_environment'), ['environment'], unique=False)

    op.create_table('chargebacks',
    sa.Column('environment', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('charge_id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('amount', Money(precision=20, scale=4), nullable=False),
    sa.Column('fee', Money(precision=20, scale=4), nullable=True),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('gateway_ref', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['charge_id'], ['charges.id'], ),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], ),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('environment', 'key', name='uq_chargeback_key')
    )
    with op.batch_alter_table('chargebacks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chargebacks_charge_id'), ['charge_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_chargebacks_environment'), ['environment'], unique=False)
        batch_op.create_index(batch_op.f('ix_chargebacks_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_chargebacks_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('refunds',
    sa.Column('environment', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('charge_id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('amount', Money(precision=20, scale=4), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('origin', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('gateway_refund_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('recorded_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('recorded_ref', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('record_error', sa.Text(), nullable=True),
    sa.Column('record_note', sa.Text(), nullable=True),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['charge_id'], ['charges.id'], ),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], ),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('environment', 'gateway_refund_id', name='uq_refund_gateway_id'),
    sa.UniqueConstraint('environment', 'key', name='uq_refund_key')
    )
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refunds_charge_id'), ['charge_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_refunds_environment'), ['environment'], unique=False)
        batch_op.create_index(batch_op.f('ix_refunds_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_refunds_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_refunds_status'), ['status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refunds_status'))
        batch_op.drop_index(batch_op.f('ix_refunds_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_refunds_invoice_id'))
        batch_op.drop_index(batch_op.f('ix_refunds_environment'))
        batch_op.drop_index(batch_op.f('ix_refunds_charge_id'))

    op.drop_table('refunds')
    with op.batch_alter_table('chargebacks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chargebacks_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_chargebacks_invoice_id'))
        batch_op.drop_index(batch_op.f('ix_chargebacks_environment'))
        batch_op.drop_index(batch_op.f('ix_chargebacks_charge_id'))

    op.drop_table('chargebacks')
    with op.batch_alter_table('gateway_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_gateway_events_environment'))

    op.drop_table('gateway_events')
