"""Alembic migrations of the journal schema (``botkit journal upgrade``)."""
