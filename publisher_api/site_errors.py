"""Refusals of the admin console's rules, each with its stable ``error`` code."""

from __future__ import annotations

from publisher_api.errors import Conflict, Forbidden


class TenantSuspended(Forbidden):
    code = "tenant_suspended"


class UserDisabled(Forbidden):
    code = "user_disabled"


class LastAdmin(Conflict):
    """A change that would leave a tenant without any admin (nobody could administer it)."""

    code = "last_admin"
