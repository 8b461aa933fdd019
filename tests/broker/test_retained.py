"""The retained store hands a SUBSCRIBE only the topics its filter may match: one lookup for a
filter without wildcards (a screen's queue topic), the tenant's bucket for one with them — never
the whole broker, nor every ticket of the tenant for a screen's single topic."""

from __future__ import annotations

from amqtt.broker import RetainedApplicationMessage

from broker.retained import RetainedMessages
from protocol.topics import filter_matches


def _store(tickets: int) -> RetainedMessages:
    store = RetainedMessages()
    for tenant in ("a", "b"):
        store[f"tenant/{tenant}/queue"] = RetainedApplicationMessage(None, "q", b"doc", 1)
        for index in range(tickets):
            topic = f"tenant/{tenant}/tickets/t{index}"
            store[topic] = RetainedApplicationMessage(None, topic, b"ticket", 1)
    store["queuecast/status"] = RetainedApplicationMessage(None, "s", b"up", 1)
    return store


def test_a_filter_without_wildcards_is_one_lookup() -> None:
    store = _store(tickets=500)
    assert [topic for topic, _ in store.candidates("tenant/a/queue")] == ["tenant/a/queue"]
    assert list(store.candidates("tenant/a/nothing")) == []
    assert [t for t, _ in store.candidates("queuecast/status")] == ["queuecast/status"]


def test_a_wildcard_filter_sees_every_topic_it_matches() -> None:
    store = _store(tickets=5)
    for topic_filter in ("tenant/a/tickets/+", "tenant/a/#", "#", "+/+/queue", "queuecast/+"):
        candidates = {topic for topic, _ in store.candidates(topic_filter)}
        assert {t for t in store if filter_matches(topic_filter, t)} <= candidates


def test_a_retained_message_is_encoded_once_until_it_changes() -> None:
    """A storm's thousands of screens get the same queue document: one encoding of it."""
    store = _store(tickets=1)
    topic = "tenant/a/queue"
    first = store.encoded(topic, store[topic])
    assert store.encoded(topic, store[topic]) is first
    assert first.for_qos0.endswith(b"doc")
    assert first.retain
    store[topic] = RetainedApplicationMessage(None, topic, b"new doc", 1)
    assert store.encoded(topic, store[topic]).for_qos0.endswith(b"new doc")
    del store[topic]
    store[topic] = RetainedApplicationMessage(None, topic, b"third", 1)
    assert store.encoded(topic, store[topic]).for_qos0.endswith(b"third")
    store.clear()
    store[topic] = RetainedApplicationMessage(None, topic, b"fourth", 1)
    assert store.encoded(topic, store[topic]).for_qos0.endswith(b"fourth")
