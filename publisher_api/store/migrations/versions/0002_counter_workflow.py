"""counter workflow: counter state, holder and services; who served a ticket and why it ended;
counter events; the tenant's call timeout

Revision ID: 0002_counter_workflow
Revises: 0001 (the initial schema)
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_counter_workflow"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("call_timeout_s", sa.Integer(), server_default="900", nullable=False)
        )
    # Existing counters start closed: an operator opens the one they work at.
    with op.batch_alter_table("counters", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), server_default="closed", nullable=False)
        )
        batch_op.add_column(sa.Column("holder", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("pause_reason", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("status_since", sa.DateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("services", sa.String(length=200), server_default="", nullable=False)
        )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("served_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("end_reason", sa.String(length=32), nullable=True))
    op.create_table(
        "counter_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("counter", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=100), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_counter_events_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_counter_events")),
    )
    with op.batch_alter_table("counter_events", schema=None) as batch_op:
        batch_op.create_index("ix_counter_events_tenant_at", ["tenant_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("counter_events", schema=None) as batch_op:
        batch_op.drop_index("ix_counter_events_tenant_at")
    op.drop_table("counter_events")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("end_reason")
        batch_op.drop_column("served_by")
    with op.batch_alter_table("counters", schema=None) as batch_op:
        batch_op.drop_column("services")
        batch_op.drop_column("status_since")
        batch_op.drop_column("pause_reason")
        batch_op.drop_column("holder")
        batch_op.drop_column("status")
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("call_timeout_s")
