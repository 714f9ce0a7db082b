"""Alembic environment: migrations run on the connection botkit hands over, in one transaction."""

from __future__ import annotations

from alembic import context

from botkit.journal.tables import METADATA

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=METADATA, render_as_batch=True,
                  transaction_per_migration=False)
with context.begin_transaction():
    context.run_migrations()
