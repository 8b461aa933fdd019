"""The subscription tree finds exactly the clients a brute-force match over all filters finds."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from broker.policy import is_valid_filter
from broker.subscriptions import SubscriptionTree
from protocol.topics import filter_matches

LEVEL = st.sampled_from(["a", "b", "$x", "+", "#", ""])
FILTER = st.lists(LEVEL, min_size=1, max_size=4).map("/".join).filter(is_valid_filter)
TOPIC = st.lists(st.sampled_from(["a", "b", "$x", ""]), min_size=1, max_size=5).map("/".join)
SUBS = st.lists(
    st.tuples(st.sampled_from(["c1", "c2", "c3"]), FILTER, st.integers(0, 1)), max_size=12
)


@given(subs=SUBS, topic=TOPIC)
def test_match_equals_brute_force(subs: list[tuple[str, str, int]], topic: str) -> None:
    tree: SubscriptionTree[str] = SubscriptionTree()
    latest: dict[tuple[str, str], int] = {}
    for client, topic_filter, qos in subs:
        tree.add(client, client, topic_filter, qos)
        latest[(client, topic_filter)] = qos
    expected: dict[str, int] = {}
    for (client, topic_filter), qos in latest.items():
        if filter_matches(topic_filter, topic):
            expected[client] = max(qos, expected.get(client, 0))
    assert {c: q for c, (_, q) in tree.match(topic).items()} == expected


@given(subs=SUBS)
def test_removing_every_filter_leaves_an_empty_tree(subs: list[tuple[str, str, int]]) -> None:
    tree: SubscriptionTree[str] = SubscriptionTree()
    for client, topic_filter, qos in subs:
        tree.add(client, client, topic_filter, qos)
    for client in ("c1", "c2"):
        tree.remove_client(client)
    for topic_filter in list(tree.filters_of("c3")):
        assert tree.remove("c3", topic_filter)
    assert len(tree) == 0
    assert tree.all_filters() == {}
    assert tree._root.children == {}


def test_dollar_topics_do_not_match_leading_wildcards() -> None:
    tree: SubscriptionTree[str] = SubscriptionTree()
    tree.add("c1", "c1", "#", 0)
    tree.add("c2", "c2", "+/broker", 0)
    tree.add("c3", "c3", "$SYS/#", 0)
    assert set(tree.match("$SYS/broker")) == {"c3"}
