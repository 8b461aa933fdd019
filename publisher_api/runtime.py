"""What the running app holds: settings, database, writer and services, metrics. Built by the
lifespan (never at import time) and reached by dependencies through ``app.state``."""

from __future__ import annotations

from dataclasses import dataclass

from config import Settings
from publisher_api.metrics import Metrics
from publisher_api.services.changes import Writer
from publisher_api.services.tickets import TicketService
from publisher_api.store.database import Database
from publisher_api.store.state_source import TokenChecker


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    database: Database
    writer: Writer
    tickets: TicketService
    token_active: TokenChecker
    metrics: Metrics
