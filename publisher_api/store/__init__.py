"""Persistence: SQLAlchemy models, the database handle with its write discipline, Alembic
migrations, the snapshot builder and the dev seed."""

# Every table on the one metadata (migrations and their check compare against all of them).
from publisher_api.store import outbox as outbox
from publisher_api.store import site_models as site_models
