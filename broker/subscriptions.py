"""Subscriptions indexed by topic level, so a publish finds its subscribers in O(topic depth).

amqtt keeps ``{filter: [(session, qos), ...]}``: every publish tests every filter in the broker,
every SUBSCRIBE scans the filter's whole subscriber list for duplicates, and a client whose
filters overlap gets one copy per filter. This tree (the structure Mosquitto uses) answers
"who receives topic T" by walking T's levels, keeps one entry per (client, filter), and
:meth:`SubscriptionTree.match` returns each client once with the highest granted QoS
(MQTT 3.1.1 §3.3.5). Pure and generic over the session type.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

S = TypeVar("S")


@dataclass(slots=True)
class _Node(Generic[S]):
    children: dict[str, _Node[S]] = field(default_factory=dict)
    subscribers: dict[str, tuple[S, int]] = field(default_factory=dict)


class SubscriptionTree(Generic[S]):
    """Filters of every client, keyed by client id; ``S`` is what the broker delivers to."""

    def __init__(self) -> None:
        self._root: _Node[S] = _Node()
        self._by_client: dict[str, dict[str, int]] = {}

    def add(self, client_id: str, session: S, topic_filter: str, qos: int) -> None:
        """Subscribe (or re-subscribe with a new QoS, as §3.8.4 asks)."""
        node = self._root
        for level in topic_filter.split("/"):
            child = node.children.get(level)
            if child is None:
                child = node.children[level] = _Node()
            node = child
        node.subscribers[client_id] = (session, qos)
        self._by_client.setdefault(client_id, {})[topic_filter] = qos

    def remove(self, client_id: str, topic_filter: str) -> bool:
        filters = self._by_client.get(client_id)
        if filters is None or filters.pop(topic_filter, None) is None:
            return False
        if not filters:
            del self._by_client[client_id]
        self._prune(topic_filter.split("/"), client_id)
        return True

    def remove_client(self, client_id: str) -> list[str]:
        """Drop every filter of a client; returns them."""
        filters = list(self._by_client.pop(client_id, {}))
        for topic_filter in filters:
            self._prune(topic_filter.split("/"), client_id)
        return filters

    def filters_of(self, client_id: str) -> dict[str, int]:
        return dict(self._by_client.get(client_id, {}))

    def __len__(self) -> int:
        return sum(len(f) for f in self._by_client.values())

    def all_filters(self) -> dict[str, list[tuple[S, int]]]:
        """``{filter: [(session, qos)]}``: amqtt's shape, for introspection only (slow)."""
        out: dict[str, list[tuple[S, int]]] = {}
        for topic_filter, node in self._walk(self._root, []):
            out[topic_filter] = list(node.subscribers.values())
        return out

    def match(self, topic: str) -> dict[str, tuple[S, int]]:
        """Every client with a filter matching ``topic``, once each, with its highest QoS."""
        levels = topic.split("/")
        found: list[dict[str, tuple[S, int]]] = []
        self._collect(self._root, levels, 0, found, dollar=topic.startswith("$"))
        if len(found) == 1:
            return found[0]
        merged: dict[str, tuple[S, int]] = {}
        for subscribers in found:
            for client_id, entry in subscribers.items():
                known = merged.get(client_id)
                if known is None or entry[1] > known[1]:
                    merged[client_id] = entry
        return merged

    def _collect(
        self,
        node: _Node[S],
        levels: list[str],
        depth: int,
        found: list[dict[str, tuple[S, int]]],
        *,
        dollar: bool,
    ) -> None:
        # §4.7.2: a topic starting with "$" is not matched by a filter starting with a wildcard.
        wildcards_allowed = not (dollar and depth == 0)
        if wildcards_allowed:
            multi = node.children.get("#")
            if multi is not None and multi.subscribers:
                found.append(multi.subscribers)  # "a/#" also matches "a" (§4.7.1.2)
        if depth == len(levels):
            if node.subscribers:
                found.append(node.subscribers)
            return
        exact = node.children.get(levels[depth])
        if exact is not None:
            self._collect(exact, levels, depth + 1, found, dollar=dollar)
        if wildcards_allowed:
            single = node.children.get("+")
            if single is not None:
                self._collect(single, levels, depth + 1, found, dollar=dollar)

    def _prune(self, levels: list[str], client_id: str) -> None:
        path: list[tuple[_Node[S], str]] = []
        node = self._root
        for level in levels:
            child = node.children.get(level)
            if child is None:
                return
            path.append((node, level))
            node = child
        node.subscribers.pop(client_id, None)
        # Drop branches left empty so a tree that saw many clients does not keep their filters.
        for parent, level in reversed(path):
            child = parent.children[level]
            if child.subscribers or child.children:
                break
            del parent.children[level]

    def _walk(self, node: _Node[S], prefix: list[str]) -> Iterator[tuple[str, _Node[S]]]:
        if node.subscribers:
            yield "/".join(prefix), node
        for level, child in node.children.items():
            yield from self._walk(child, [*prefix, level])
