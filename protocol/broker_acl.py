"""Our grants as EMQX ACL rules, carried in every token's ``acl`` claim: pure.

An EMQX cluster configured for JWT authentication with our signing key (``python -m
publisher_api.dynsec emqx-config``) then enforces what :mod:`broker.policy` enforces on our broker,
without a plugin: EMQX (5.5 and later) checks a client's publishes and subscriptions against the
rules of the token it connected with, first match wins, before any other authorizer.

The rules name the tenant and the device literally (no ``${username}`` placeholders: the
username is free with us). EMQX matches a subscription filter against a rule's filter
word by word, where a rule's ``#`` also covers the parent level and a rule's ``+`` also covers a
``#`` in the filter; the ``eq`` denials in front keep exactly what our broker refuses refused
(``tenant/<t>`` alone, an empty level, ``.../tickets/#`` for public pages). The list ends with
explicit denials, so nothing depends on EMQX's ``no_match`` setting.
"""

from __future__ import annotations

from protocol.server_status import SERVER_STATUS_TOPIC
from protocol.topics import (
    ROOT,
    device_status_topic,
    events_topic,
    queue_topic,
    ticket_wildcard,
)

Rule = dict[str, str]
# Role values, not protocol.auth.Role: the token module imports this one.
_DEVICES = ("totem", "display")
_TENANT_STAFF = ("admin", "operator")


def _rule(permission: str, action: str, topic: str) -> Rule:
    return {"permission": permission, "action": action, "topic": topic}


def _read_under(prefix: str) -> list[Rule]:
    """Subscribe to any filter strictly under ``prefix/`` (as ``Grant.subscribe_prefix``)."""
    return [
        _rule("deny", "subscribe", f"eq {prefix}"),
        _rule("deny", "subscribe", f"eq {prefix}/"),
        _rule("allow", "subscribe", f"{prefix}/#"),
    ]


def emqx_acl(role: str, tenant: str | None, subject: str) -> list[Rule]:
    """The rules for a token of ``role`` (a ``Role`` value) in ``tenant`` (``subject``: the
    device id for devices)."""
    rules = [_rule("allow", "subscribe", f"eq {SERVER_STATUS_TOPIC}")]
    if role == "publisher":
        rules += [
            _rule("allow", "publish", f"eq {SERVER_STATUS_TOPIC}"),
            # Concrete topics tenant/<id>/<rest> only (a rule's # also covers tenant and
            # tenant/<id>).
            _rule("deny", "publish", f"eq {ROOT}"),
            _rule("deny", "publish", f"{ROOT}/+"),
            _rule("deny", "publish", f"{ROOT}//#"),
            _rule("deny", "publish", f"{ROOT}/+/"),
            _rule("allow", "publish", f"{ROOT}/#"),
            *_read_under(ROOT),
        ]
    elif role == "superadmin":
        rules += _read_under(ROOT)
    elif tenant is not None and role == "public":
        rules += [
            _rule("deny", "subscribe", f"eq {ROOT}/{tenant}/tickets/#"),
            _rule("allow", "subscribe", f"eq {queue_topic(tenant)}"),
            _rule("allow", "subscribe", f"eq {events_topic(tenant)}"),
            _rule("allow", "subscribe", ticket_wildcard(tenant)),
        ]
    elif tenant is not None and role in (*_TENANT_STAFF, *_DEVICES):
        rules += _read_under(f"{ROOT}/{tenant}")
        if role in _DEVICES:
            rules.append(_rule("allow", "publish", f"eq {device_status_topic(tenant, subject)}"))
    return [*rules, _rule("deny", "all", "#"), _rule("deny", "all", "$SYS/#")]
