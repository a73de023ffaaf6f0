"""runs.abort_requested_at: when a user first aborted a run, so that an abort its workflow can't
carry out ends the run anyway

Revision ID: 0006
Revises: 0005
"""

from alembic import op
import sqlalchemy as sa

from store.models import UTCDateTime


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('abort_requested_at', UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_column('abort_requested_at')
