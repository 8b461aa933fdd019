"""Persistence: SQLAlchemy models, the database handle with its write discipline, Alembic
migrations, the snapshot builder and the dev seed."""
