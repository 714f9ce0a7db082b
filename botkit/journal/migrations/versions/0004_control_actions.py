"""Control actions: an operator's pause, resume, kill switch, cancel-all or stop request to a
running bot (web dashboard and API), with who, when, and what became of it.

Revision ID: 0004
Revises: 0003 (the bars)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('control_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bot_id', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('strategy', sa.String(length=64), nullable=True),
    sa.Column('who', sa.String(length=128), nullable=False),
    sa.Column('requested_at', sa.BigInteger(), nullable=False),
    sa.Column('done_at', sa.BigInteger(), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_control_actions_bot_done', 'control_actions', ['bot_id', 'done_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_control_actions_bot_done', table_name='control_actions')
    op.drop_table('control_actions')
