"""Bars: the closed bars a bot built, per timeframe, kept (bounded) so that history survives a
restart (issue 13).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bars',
    sa.Column('bot_id', sa.String(length=64), nullable=False),
    sa.Column('timeframe', sa.String(length=16), nullable=False),
    sa.Column('start_at', sa.BigInteger(), nullable=False),
    sa.Column('end_at', sa.BigInteger(), nullable=False),
    sa.Column('open', sa.String(length=64), nullable=True),
    sa.Column('high', sa.String(length=64), nullable=True),
    sa.Column('low', sa.String(length=64), nullable=True),
    sa.Column('close', sa.String(length=64), nullable=True),
    sa.Column('volume', sa.String(length=64), nullable=False),
    sa.Column('quote_volume', sa.String(length=64), nullable=False),
    sa.Column('trades', sa.Integer(), nullable=False),
    sa.Column('vwap', sa.String(length=64), nullable=True),
    sa.Column('from_mid', sa.Boolean(), nullable=False),
    sa.Column('missing', sa.Boolean(), nullable=False),
    sa.Column('mid', sa.String(length=64), nullable=True),
    sa.Column('microprice', sa.String(length=64), nullable=True),
    sa.Column('spread', sa.String(length=64), nullable=True),
    sa.Column('imbalance', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('bot_id', 'timeframe', 'start_at')
    )


def downgrade() -> None:
    op.drop_table('bars')
