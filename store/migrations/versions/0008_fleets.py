"""fleets, host liveness and GPUs, GPU slices of instances, uploaded code

Revision ID: 0008
Revises: 0007
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('fleets',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('project_id', sa.String(length=36), nullable=True),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_message', sa.Text(), nullable=False, server_default=''),
    sa.Column('spec', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id']),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name', name='uq_fleets_name'),
    )
    with op.batch_alter_table('hosts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fleet_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('status', sa.String(length=20), nullable=False, server_default='active'))
        batch_op.add_column(sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('gpus', sa.JSON(), nullable=True))
        batch_op.create_foreign_key('fk_hosts_fleet', 'fleets', ['fleet_id'], ['id'])
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('gpu_indices', sa.JSON(), nullable=True))
    op.create_table('code_blobs',
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id']),
    sa.PrimaryKeyConstraint('project_id', 'hash'),
    )


def downgrade() -> None:
    op.drop_table('code_blobs')
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.drop_column('gpu_indices')
    with op.batch_alter_table('hosts', schema=None) as batch_op:
        batch_op.drop_constraint('fk_hosts_fleet', type_='foreignkey')
        batch_op.drop_column('gpus')
        batch_op.drop_column('last_seen_at')
        batch_op.drop_column('status')
        batch_op.drop_column('fleet_id')
    op.drop_table('fleets')
