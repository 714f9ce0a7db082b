"""Strategy health and the kill switch, for `botkit status`: a strategy_health table (each
strategy of a bot's latest run, active or paused, with why) and the kill switch on runs.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('strategy_health',
    sa.Column('bot_id', sa.String(length=64), nullable=False),
    sa.Column('strategy', sa.String(length=64), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], ),
    sa.PrimaryKeyConstraint('bot_id', 'strategy')
    )
    op.add_column('runs', sa.Column('kill_switch', sa.Text(), nullable=True))
    op.add_column('runs', sa.Column('kill_switch_at', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not a batch operation: a batch copies and
    # drops `runs`, which the rows of orders, fills... refer to (foreign keys are enforced).
    op.drop_column('runs', 'kill_switch_at')
    op.drop_column('runs', 'kill_switch')
    op.drop_table('strategy_health')
