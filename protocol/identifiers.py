"""Identifiers that appear inside MQTT topics and URLs.

A tenant or device id becomes one level of an MQTT topic, so it must never contain the topic
separator or a wildcard (``/ + #``), and it must not be empty. We go further and allow only a
small, URL- and filename-safe alphabet, so the same id is safe in paths, logs and file names.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
"""Tenant and device ids, written once: in the same dialect for Python, pydantic/OpenAPI,
AsyncAPI and the browser (served to the pages as ``/web/js/identifiers.js``)."""
ID_RULE = "1-63 characters: lowercase letters, digits, '-' or '_', starting with a letter or digit"

TICKET_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
"""Ticket ids: unguessable tokens (UUID-like). A ticket id is a capability and a topic level;
anything else is refused before it reaches a topic, a query or a QR code."""

_ID_PATTERN = re.compile(ID_PATTERN)
_TICKET_ID_PATTERN = re.compile(TICKET_ID_PATTERN)


class InvalidIdentifier(ValueError):
    """An id that cannot be used as a topic level (empty, wildcard, separator, odd characters)."""


def validate_identifier(value: str, *, what: str = "id") -> str:
    """Return ``value`` unchanged if it is a valid tenant/device id, else raise."""
    if not isinstance(value, str) or not _ID_PATTERN.fullmatch(value):
        raise InvalidIdentifier(f"invalid {what} {value!r}: {ID_RULE}")
    return value


def _tenant(value: str) -> str:
    return validate_identifier(value, what="tenant id")


def _device(value: str) -> str:
    return validate_identifier(value, what="device id")


def is_ticket_id(value: str) -> bool:
    """Whether ``value`` is shaped like a ticket id (:data:`TICKET_ID_PATTERN`)."""
    return _TICKET_ID_PATTERN.fullmatch(value) is not None


TenantId = Annotated[str, AfterValidator(_tenant)]
"""A validated tenant id, for pydantic models at every edge."""

DeviceId = Annotated[str, AfterValidator(_device)]
"""A validated device id."""
