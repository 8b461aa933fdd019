"""pairing codes, branding (logo, accent colour), suspension, disabled users, kiosk services

Revision ID: 0004_pairing_branding
Revises: 0003
Create Date: 2026-12-01 19:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_pairing_branding"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pairing_codes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("code_digest", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.String(length=63), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_pairing_codes_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pairing_codes")),
        sa.UniqueConstraint("tenant_id", "code_digest", name=op.f("uq_pairing_codes_tenant_id")),
    )
    op.create_table(
        "tenant_branding",
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("accent_color", sa.String(length=7), nullable=True),
        sa.Column("logo", sa.LargeBinary(), nullable=True),
        sa.Column("logo_type", sa.String(length=32), nullable=True),
        sa.Column("logo_version", sa.String(length=32), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_tenant_branding_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_tenant_branding")),
    )
    op.create_table(
        "tenant_suspensions",
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("suspended_by", sa.String(length=64), nullable=False),
        sa.Column("suspended_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_tenant_suspensions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_tenant_suspensions")),
    )

    op.create_table(
        "disabled_users",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("disabled_by", sa.String(length=64), nullable=False),
        sa.Column("disabled_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_disabled_users_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_disabled_users")),
    )

    op.create_table(
        "service_kiosk",
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("prefix", sa.String(length=3), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_service_kiosk_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "prefix", name=op.f("pk_service_kiosk")),
    )


def downgrade() -> None:
    op.drop_table("service_kiosk")
    op.drop_table("disabled_users")
    op.drop_table("tenant_suspensions")
    op.drop_table("tenant_branding")
    op.drop_table("pairing_codes")
