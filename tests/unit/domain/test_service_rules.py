"""The rules of a service's line, and the lifecycle's legality check, as pure functions."""

from __future__ import annotations

import pytest

from protocol import TicketStatus
from publisher_api.domain import lifecycle as lc
from publisher_api.domain.service_rules import (
    PriorityNotTaken,
    ServiceInUse,
    check_delete,
    check_issue,
)


def test_a_priority_ticket_only_where_the_service_takes_them() -> None:
    check_issue("P", priority_allowed=True, priority=True)
    check_issue("A", priority_allowed=False, priority=False)
    with pytest.raises(PriorityNotTaken, match="service A does not take priority tickets"):
        check_issue("A", priority_allowed=False, priority=True)


def test_a_service_is_deleted_only_without_unfinished_tickets() -> None:
    check_delete("A", unfinished=0)
    with pytest.raises(ServiceInUse) as refused:
        check_delete("A", unfinished=3)
    assert refused.value.unfinished == 3
    assert "3 unfinished tickets" in str(refused.value)


@pytest.mark.parametrize("status", list(TicketStatus))
@pytest.mark.parametrize("command", list(lc.CommandKind))
def test_check_is_the_table(status: TicketStatus, command: lc.CommandKind) -> None:
    target = lc.TRANSITIONS[status].get(command)
    if target is None:
        with pytest.raises(lc.IllegalTransition):
            lc.check(status, command)
    else:
        assert lc.check(status, command) is target
