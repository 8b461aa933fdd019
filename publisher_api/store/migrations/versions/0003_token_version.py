"""token version per user: password change, role change, deletion and sign-out revoke tokens

Revision ID: 0003
Revises: 0002_counter_workflow
Create Date: 2026-12-01 20:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002_counter_workflow"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing users start at 0, the version of every token signed before this migration:
    # nobody is signed out by the upgrade.
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("token_version", sa.BigInteger(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("token_version")
