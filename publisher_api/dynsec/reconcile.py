"""From what the plugin holds to what it must hold: the commands, in a safe order. Pure.

Only clients and roles whose name starts with :data:`~publisher_api.dynsec.model.PREFIX` are
ours; anything else (the admin client that provisions) is never touched. A login whose
fingerprint changed is deleted and created again rather than edited: the plugin disconnects the
sessions of a deleted client, so a revoked device or user is cut off at once, not only refused
at its next CONNECT.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from publisher_api.dynsec.model import PREFIX, Acl, ClientSpec, Desired, RoleSpec

Command = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ActualClient:
    username: str
    textname: str
    roles: frozenset[str]


@dataclass(frozen=True, slots=True)
class Actual:
    roles: dict[str, frozenset[Acl]] = field(default_factory=dict)
    clients: dict[str, ActualClient] = field(default_factory=dict)


def parse_actual(
    clients: Sequence[Mapping[str, Any]], roles: Sequence[Mapping[str, Any]]
) -> Actual:
    """``listClients`` / ``listRoles`` (verbose) data, ours only."""
    actual = Actual()
    for role in roles:
        name = str(role.get("rolename", ""))
        if name.startswith(PREFIX):
            actual.roles[name] = frozenset(
                Acl(
                    str(acl["acltype"]),
                    str(acl["topic"]),
                    bool(acl.get("allow", False)),
                    int(acl.get("priority", 0)),
                )
                for acl in role.get("acls", [])
            )
    for client in clients:
        username = str(client.get("username", ""))
        if username.startswith(PREFIX):
            actual.clients[username] = ActualClient(
                username,
                str(client.get("textname", "")),
                frozenset(str(r["rolename"]) for r in client.get("roles", [])),
            )
    return actual


def _create_role(role: RoleSpec) -> Command:
    return {
        "command": "createRole",
        "rolename": role.name,
        "acls": [acl.as_json() for acl in sorted(role.acls)],
    }


def _create_client(client: ClientSpec) -> Command:
    return {
        "command": "createClient",
        "username": client.username,
        "password": client.password,
        "textname": client.fingerprint,
        "roles": [{"rolename": name, "priority": -1} for name in client.roles],
    }


def plan(desired: Desired, actual: Actual) -> list[Command]:
    """Roles first (clients refer to them), then logins, then what is no longer granted."""
    commands: list[Command] = []
    for name, role in sorted(desired.roles.items()):
        held = actual.roles.get(name)
        if held is None:
            commands.append(_create_role(role))
        elif held != role.acls:
            commands.append(
                {
                    "command": "modifyRole",
                    "rolename": name,
                    "acls": [acl.as_json() for acl in sorted(role.acls)],
                }
            )
    for username, client in sorted(desired.clients.items()):
        current = actual.clients.get(username)
        if current is not None and (
            current.textname == client.fingerprint and current.roles == frozenset(client.roles)
        ):
            continue
        if current is not None:
            commands.append({"command": "deleteClient", "username": username})
        commands.append(_create_client(client))
    for username in sorted(set(actual.clients) - set(desired.clients)):
        commands.append({"command": "deleteClient", "username": username})
    for name in sorted(set(actual.roles) - set(desired.roles)):
        commands.append({"command": "deleteRole", "rolename": name})
    return commands
