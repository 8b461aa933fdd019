"""Who may do what on the broker: the tenant ACL, decided once per connection.

A :class:`Grant` is computed from the verified token at CONNECT and kept on the session; every
later check (SUBSCRIBE, PUBLISH, each delivery, the Will) is a few string operations on it, with
no token decoding and no I/O. Pure: no amqtt, no sockets, so every rule is unit-tested alone.

Rules (``protocol.auth.Role``):

- ``publisher`` (the API's own client): publish anywhere under ``tenant/<id>/``; subscribe to
  filters under ``tenant/`` (wildcard tenants allowed) and to ``$SYS/``.
- ``superadmin``: subscribe to any filter under ``tenant/``; publish nothing.
- ``admin``, ``operator``: subscribe to filters that start with ``tenant/<own>/`` (wildcards only
  after that); publish nothing.
- ``totem``, ``display`` (devices): as above, and publish their own presence topic only.
- ``public``: subscribe to :func:`protocol.topics.public_topics` or narrower filters within them;
  publish nothing.

A Will is allowed only on a topic the client may publish. ``$``-topics are never published by
clients and never delivered to a tenant-scoped client.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from protocol import Principal, Role
from protocol.server_status import SERVER_STATUS_TOPIC
from protocol.topics import ROOT, device_status_topic, filter_matches, public_topics

_TENANT_ROOT = f"{ROOT}/"
_SYS_ROOT = "$SYS/"


def is_valid_filter(topic_filter: str) -> bool:
    """MQTT 3.1.1 §4.7.1 syntax: ``#`` only as the whole last level, ``+`` only as a whole level."""
    if not topic_filter or "\x00" in topic_filter:
        return False
    levels = topic_filter.split("/")
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            return False
        if "+" in level and level != "+":
            return False
    return True


def filter_within(narrow: str, broad: str) -> bool:
    """Whether every topic matched by filter ``narrow`` is also matched by filter ``broad``.

    ``tenant/t/tickets/abc`` is within ``tenant/t/tickets/+``; ``tenant/t/tickets/#`` is not (it
    also matches ``tenant/t/tickets`` and deeper levels). Both filters must be valid.
    """
    n_levels = narrow.split("/")
    b_levels = broad.split("/")
    for index, b in enumerate(b_levels):
        if b == "#":
            return True
        if index >= len(n_levels):
            return False
        n = n_levels[index]
        if n == "#":
            return False
        if b == "+":
            continue
        if n != b:  # a literal level of `broad` needs the same literal in `narrow`, not `+`
            return False
    return len(n_levels) == len(b_levels)


DECISIONS_KEPT = 64
"""SUBSCRIBE and receive decisions remembered per grant (beyond it, decided each time). A grant
is shared by every connection of its token (:mod:`broker.auth`): in a reconnect storm thousands
of screens holding one public token ask it the same question about the same filter."""


def _tenant_prefix(tenant: str) -> str:
    return f"{_TENANT_ROOT}{tenant}/"


@dataclass(frozen=True, slots=True)
class Grant:
    """What one authenticated connection may do. Built by :func:`grant_for`; immutable."""

    principal: Principal
    subscribe_prefix: str | None
    """Filters must start with this (and carry wildcards only after it); ``None``: see below."""
    subscribe_within: tuple[str, ...] = ()
    """For ``public``: filters must be within one of these instead of under a prefix."""
    publish_topic: str | None = None
    """The one topic a device may publish (its presence)."""
    publish_prefix: str | None = None
    """For the publisher: any concrete topic under ``tenant/<id>/``."""
    receive_prefix: str = _TENANT_ROOT
    """Defence in depth at delivery: nothing outside this prefix is ever sent to the client."""
    _subscribe_decisions: dict[str, bool] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _receive_decisions: dict[str, bool] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def may_subscribe(self, topic_filter: str) -> bool:
        return _remembered(self._subscribe_decisions, topic_filter, self._decide_subscribe)

    def _decide_subscribe(self, topic_filter: str) -> bool:
        if topic_filter == SERVER_STATUS_TOPIC:  # every role: "is the server up?"
            return True
        if not is_valid_filter(topic_filter):
            return False
        if self.subscribe_within:
            return any(filter_within(topic_filter, allowed) for allowed in self.subscribe_within)
        if self.principal.role is Role.PUBLISHER and topic_filter.startswith(_SYS_ROOT):
            return True
        prefix = self.subscribe_prefix
        # The prefix is literal, so for a tenant role the tenant level cannot be a wildcard; the
        # cross-tenant roles' prefix is just "tenant/", so "tenant/+/queue" is theirs to use.
        return prefix is not None and topic_filter.startswith(prefix) and topic_filter != prefix

    def may_publish(self, topic: str) -> bool:
        if self.publish_topic is not None:
            return topic == self.publish_topic
        if self.publish_prefix is not None:
            return _is_tenant_topic(topic) or topic == SERVER_STATUS_TOPIC
        return False

    def may_publish_payload(self, topic: str, payload: bytes) -> bool:
        """What a device publishes on its presence topic may not speak for another device:
        a document there must name this very device and tenant (otherwise the console showed
        "ghosts": devices that never connected). Bytes that are not a JSON object are no
        document any receiver accepts, and an empty payload clears the retained presence:
        both pass. Only called after :meth:`may_publish` allowed the topic, and only devices
        publish (rarely): decoding here costs nothing on the delivery path."""
        if self.publish_topic is None or topic != self.publish_topic or not payload:
            return True
        try:
            document = json.loads(payload)
        except (ValueError, UnicodeDecodeError):
            return True
        if not isinstance(document, dict):
            return True
        p = self.principal
        if document.get("type") == "device_presence" and "device_id" not in document:
            return False
        return (
            document.get("device_id", p.subject) == p.subject
            and document.get("tenant", p.tenant) == p.tenant
        )

    def may_receive(self, topic: str) -> bool:
        return _remembered(self._receive_decisions, topic, self._decide_receive)

    def _decide_receive(self, topic: str) -> bool:
        if not topic.startswith(self.receive_prefix):
            return topic == SERVER_STATUS_TOPIC
        if self.subscribe_within:
            return any(filter_matches(allowed, topic) for allowed in self.subscribe_within)
        return True

    @property
    def identity(self) -> str:
        """A stable key for the principal behind the token (not the token itself): sessions of
        different identities never share a client-id namespace."""
        p = self.principal
        return f"{p.tenant or '*'}|{p.role.value}|{p.subject}"


def _remembered(decisions: dict[str, bool], key: str, decide: Callable[[str], bool]) -> bool:
    known = decisions.get(key)
    if known is None:
        known = decide(key)
        if len(decisions) < DECISIONS_KEPT:
            decisions[key] = known
    return known


def _is_tenant_topic(topic: str) -> bool:
    """A concrete topic ``tenant/<id>/<something>`` with a non-empty id and rest."""
    if not topic.startswith(_TENANT_ROOT) or "+" in topic or "#" in topic:
        return False
    parts = topic.split("/", 2)
    return len(parts) == 3 and bool(parts[1]) and bool(parts[2])


def grant_for(principal: Principal) -> Grant:
    """The grant of a verified principal. Raises ``ValueError`` for a principal that cannot be
    scoped (a tenant role without a tenant), which the broker treats as a refused CONNECT."""
    role = principal.role
    if role is Role.PUBLISHER:
        return Grant(principal, subscribe_prefix=_TENANT_ROOT, publish_prefix=_TENANT_ROOT)
    if role is Role.SUPERADMIN:
        return Grant(principal, subscribe_prefix=_TENANT_ROOT)
    tenant = principal.tenant
    if tenant is None:
        raise ValueError(f"role {role.value} needs a tenant")
    prefix = _tenant_prefix(tenant)
    if role is Role.PUBLIC:
        return Grant(
            principal,
            subscribe_prefix=None,
            subscribe_within=public_topics(tenant),
            receive_prefix=prefix,
        )
    if principal.is_device:
        return Grant(
            principal,
            subscribe_prefix=prefix,
            publish_topic=device_status_topic(tenant, principal.subject),
            receive_prefix=prefix,
        )
    if role in (Role.ADMIN, Role.OPERATOR):
        return Grant(principal, subscribe_prefix=prefix, receive_prefix=prefix)
    raise ValueError(f"unknown role {role.value}")
