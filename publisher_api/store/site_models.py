"""Tables of the admin console: one-time pairing codes, a tenant's branding (logo and accent
colour) and tenant suspension. Kept apart from ``models`` so the tenant row and its in-memory
record (``records.TenantRecord``, which mirrors every column) stay as they are: branding and
suspension are read where they are needed, never on the ticket write path."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from publisher_api.store.models import Base, UTCDateTime


class PairingCodeRow(Base):
    """A short code an admin shows and a device types once to receive its own token. Only a
    digest of the code is kept; ``attempts`` counts wrong guesses made while it was open."""

    __tablename__ = "pairing_codes"
    __table_args__ = (UniqueConstraint("tenant_id", "code_digest"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    code_digest: Mapped[str] = mapped_column(String(64))
    device_id: Mapped[str] = mapped_column(String(63))
    role: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class TenantBrandingRow(Base):
    __tablename__ = "tenant_branding"

    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    accent_color: Mapped[str | None] = mapped_column(String(7), default=None)
    logo: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    logo_type: Mapped[str | None] = mapped_column(String(32), default=None)
    # Changes with every upload: part of the logo's URL, so caches never show an old one.
    logo_version: Mapped[str | None] = mapped_column(String(32), default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ServiceKioskRow(Base):
    """How a service is offered at kiosks: its place in the list, a line of description, and
    whether it is offered at all. Keyed by prefix, like tickets (no row: defaults)."""

    __tablename__ = "service_kiosk"

    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    prefix: Mapped[str] = mapped_column(String(3), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    description: Mapped[str | None] = mapped_column(String(300), default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class DisabledUserRow(Base):
    """A disabled user: refused at sign-in and on every token until enabled again (the account
    and its history stay)."""

    __tablename__ = "disabled_users"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    disabled_by: Mapped[str] = mapped_column(String(64))
    disabled_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TenantSuspensionRow(Base):
    """A suspended tenant: its users and devices are refused until the row is removed."""

    __tablename__ = "tenant_suspensions"

    tenant_id: Mapped[str] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    suspended_by: Mapped[str] = mapped_column(String(64))
    suspended_at: Mapped[datetime] = mapped_column(UTCDateTime())
