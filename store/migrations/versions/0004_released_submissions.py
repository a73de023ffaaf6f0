"""instances without a host: submissions released before they got a slice

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.alter_column('host_id', existing_type=sa.String(length=100), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM instances WHERE host_id IS NULL")
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.alter_column('host_id', existing_type=sa.String(length=100), nullable=False)
