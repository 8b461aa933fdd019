"""What a service (one line of tickets) allows: a priority ticket only where the service takes
them, and deletion only once none of its tickets is unfinished (they would be lost from every
screen and counter). Pure: the caller brings the facts, the rule says yes or refuses."""

from __future__ import annotations


class ServiceRefusal(Exception):
    """A ticket or service command the service's rules refuse; nothing changed."""


class PriorityNotTaken(ServiceRefusal):
    def __init__(self, prefix: str) -> None:
        super().__init__(f"service {prefix} does not take priority tickets")
        self.prefix = prefix


class ServiceInUse(ServiceRefusal):
    def __init__(self, prefix: str, unfinished: int) -> None:
        super().__init__(
            f"service {prefix} still has {unfinished} unfinished tickets; "
            "transfer or finish them first"
        )
        self.prefix = prefix
        self.unfinished = unfinished


def check_issue(prefix: str, *, priority_allowed: bool, priority: bool) -> None:
    """A ticket may be issued in ``prefix``'s line, or :class:`PriorityNotTaken`."""
    if priority and not priority_allowed:
        raise PriorityNotTaken(prefix)


def check_delete(prefix: str, *, unfinished: int) -> None:
    """The service may be deleted, or :class:`ServiceInUse`."""
    if unfinished:
        raise ServiceInUse(prefix, unfinished)
