"""job_submissions: the finished submissions a run's state no longer holds once it continued as new

Revision ID: 0007
Revises: 0006
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('job_submissions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('replica_num', sa.Integer(), nullable=False),
    sa.Column('submission_num', sa.Integer(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('job_submissions', schema=None) as batch_op:
        batch_op.create_index('ix_job_submissions_run', ['run_id', 'replica_num', 'submission_num'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('job_submissions', schema=None) as batch_op:
        batch_op.drop_index('ix_job_submissions_run')
    op.drop_table('job_submissions')
