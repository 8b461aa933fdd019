"""The retained store, indexed by tenant so a SUBSCRIBE looks only at its own tenant's topics.

amqtt keeps ``{topic: message}`` and, for each SUBSCRIBE, tests every retained topic in the
broker against the filter: with many tenants (a queue and dozens of tickets each) a reconnect
storm becomes quadratic. This is still the dict amqtt reads and writes (``retain_message``,
``clear`` on start/stop), with a second index ``{first two levels: {topic: message}}`` kept in
step by the mutating methods amqtt uses.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from amqtt.broker import RetainedApplicationMessage

from broker.packets import EncodedPublish


def _bucket_key(topic: str) -> str | None:
    """``tenant/<id>`` for ``tenant/<id>/...``; ``None`` when a level is a wildcard or missing."""
    parts = topic.split("/", 2)
    if len(parts) < 3 or parts[0] in ("+", "#") or parts[1] in ("+", "#"):
        return None
    return f"{parts[0]}/{parts[1]}"


class RetainedMessages(dict[str, RetainedApplicationMessage]):
    def __init__(self) -> None:
        super().__init__()
        self._buckets: dict[str, dict[str, RetainedApplicationMessage]] = {}
        self._encoded: dict[str, EncodedPublish] = {}

    def __setitem__(self, topic: str, message: RetainedApplicationMessage) -> None:
        super().__setitem__(topic, message)
        self._encoded.pop(topic, None)
        key = _bucket_key(topic) or ""
        self._buckets.setdefault(key, {})[topic] = message

    def __delitem__(self, topic: str) -> None:
        super().__delitem__(topic)
        self._encoded.pop(topic, None)
        key = _bucket_key(topic) or ""
        bucket = self._buckets.get(key)
        if bucket is not None:
            bucket.pop(topic, None)
            if not bucket:
                del self._buckets[key]

    def clear(self) -> None:
        super().clear()
        self._buckets.clear()
        self._encoded.clear()

    def encoded(self, topic: str, message: RetainedApplicationMessage) -> EncodedPublish:
        """``message`` (retained on ``topic``) as PUBLISH bytes, encoded once per retained
        message rather than once per subscriber: a storm's thousands of screens get the same
        queue document."""
        encoded = self._encoded.get(topic)
        if encoded is None:
            encoded = EncodedPublish.build(topic, bytes(message.data), retain=True)
            self._encoded[topic] = encoded
        return encoded

    def pop(self, topic: str, *default: Any) -> Any:
        if topic in self:
            message = self[topic]
            del self[topic]
            return message
        if default:
            return default[0]
        raise KeyError(topic)

    def candidates(self, topic_filter: str) -> Iterable[tuple[str, RetainedApplicationMessage]]:
        """Retained messages that may match ``topic_filter`` (the caller still matches). A
        filter without wildcards (a screen's ``tenant/<id>/queue``) is one lookup: the tenant's
        other retained topics (a ticket topic per waiting ticket) are not walked per SUBSCRIBE."""
        if "+" not in topic_filter and "#" not in topic_filter:
            message = self.get(topic_filter)
            return [] if message is None else [(topic_filter, message)]
        key = _bucket_key(topic_filter)
        if key is None:
            return list(self.items())
        # Topics with fewer than three levels live in the "" bucket ("a/b/#" matches "a/b").
        return [*self._buckets.get(key, {}).items(), *self._buckets.get("", {}).items()]
