"""service_traffic: requests per service run, API process and second, for the autoscaler

Revision ID: 0009
Revises: 0008
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('service_traffic',
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('bucket', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('process_id', sa.String(length=36), nullable=False),
    sa.Column('requests', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('run_id', 'bucket', 'process_id'),
    )


def downgrade() -> None:
    op.drop_table('service_traffic')
