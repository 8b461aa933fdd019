"""The FastAPI application and the one lifespan that owns the process.

``create_app(settings)`` builds the app without touching anything; the lifespan then, in order:
opens the database and migrates it to head, seeds the dev tenant (dev mode) or refuses the dev
logins (otherwise), starts the realtime step (embedded broker and MQTT publisher), exposes
everything to requests as one ``Runtime`` (:mod:`publisher_api.lifespan_state`) and starts the
sweeper (expiry). Shutdown runs the same steps in reverse (``AsyncExitStack``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI
from sqlalchemy import func, select

import config
from config import Settings
from config.faultlog import FaultLog
from protocol import TicketStatus
from publisher_api.auth import TokenVerifier
from publisher_api.bootstrap.seed import (
    SeededDevice,
    ensure_bootstrap_superadmin,
    refuse_dev_logins,
    seed_dev,
)
from publisher_api.deps import TOKEN_URL
from publisher_api.dynsec.grants import load_grants
from publisher_api.http_errors import install as install_error_handlers
from publisher_api.http_latency import HttpLatencyMiddleware
from publisher_api.issue_limit import IssueLimit
from publisher_api.lifespan_state import forget, keep, running
from publisher_api.limits import BodyLimit, StrictTransport
from publisher_api.login_gate import LoginGate
from publisher_api.login_guard import LoginGuard
from publisher_api.metrics import Metrics
from publisher_api.publishing.relay import OutboxRelay, RelayedSink
from publisher_api.realtime import NullSink, realtime
from publisher_api.routers import (
    admin,
    assets,
    auth,
    branding,
    counters,
    health,
    kiosk,
    lifecycle,
    pages,
    pairing,
    stats,
    suspension,
    tickets,
    user_access,
)
from publisher_api.routers import realtime as realtime_routes
from publisher_api.routers.docs import serve_docs
from publisher_api.routers.mqtt_lane import MqttLane
from publisher_api.routers.ticket_lane import TicketLane, check_routes
from publisher_api.routers.tickets import router as tickets_router
from publisher_api.runtime import Runtime
from publisher_api.security_headers import SecurityHeaders
from publisher_api.services.batching import BatchingWriter
from publisher_api.services.changes import Writer
from publisher_api.services.expiry import Sweeper
from publisher_api.services.tickets import TicketService
from publisher_api.store.database import Database
from publisher_api.store.directory import Directory
from publisher_api.store.migrate import upgrade_to_head
from publisher_api.store.models import TenantRow, TicketRow
from publisher_api.store.snapshot import SnapshotCache
from publisher_api.store.state_source import StoreStateSource

log = logging.getLogger(__name__)

API_DESCRIPTION = """\
Operators, admins and totems use this REST API; screens follow the same state live over MQTT.

- Log in at `POST /api/v1/auth/token` and send `Authorization: Bearer <token>`. Devices use the
  token they were given when registered (`POST /api/v1/tenants/{tenant}/devices`).
- `GET /api/v1/tenants/{tenant}/queue` is exactly the retained MQTT `queue_update` document.
- The MQTT topics and messages are described by the AsyncAPI document at
  [`/asyncapi.json`](/asyncapi.json); clients get broker URLs and credentials from
  `GET /api/v1/tenants/{tenant}/mqtt-credentials`.
- Errors are JSON: `{"error": "<code>", "message": "<text>", ...}`.
"""


def create_app(settings: Settings | None = None, *, settle_heap: bool = False) -> FastAPI:
    """The app for ``settings`` (default: the process's, from ``config.get_settings()``).
    ``settle_heap``: see :func:`_settle_heap` (for the server process only)."""
    settings = settings or config.get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            database = Database(settings.effective_database_url)
            stack.callback(database.dispose)
            devices = await to_thread.run_sync(prepare_database, database, settings)
            if devices is not None:
                _announce_dev(settings, devices)
            directory = Directory(database)
            snapshots = SnapshotCache(database, version=settings.queue_update_version)
            relays: list[OutboxRelay] = []
            sink = await stack.enter_async_context(
                realtime(
                    settings,
                    StoreStateSource(database, snapshots),
                    token_active=directory.token_active,
                    grants=lambda: load_grants(database),
                    publishes=lambda: database.is_sqlite or any(r.is_leader for r in relays),
                )
            )
            writer = Writer(database, sink, snapshots=snapshots, directory=directory)
            if writer.outbox:
                # PostgreSQL (replicas): the relay publishes every replica's commits.
                writer.sink = RelayedSink(sink)
                relay = OutboxRelay(
                    database,
                    sink.sink,
                    snapshots,
                    directory,
                    credentials_changed=sink.credentials_changed,
                    poll_s=settings.outbox_poll_s,
                )
                relays.append(relay)
                relay.start()
                stack.callback(relay.stop)
            batching = BatchingWriter(writer)
            stack.callback(batching.close)
            logins = LoginGuard.from_settings(settings)
            stack.callback(logins.checks.close)
            runtime = Runtime(
                settings=settings,
                database=database,
                writer=writer,
                tickets=TicketService(writer, metrics),
                directory=directory,
                snapshots=snapshots,
                metrics=metrics,
                batching=batching,
                tokens=TokenVerifier(settings.secret_key.get_secret_value()),
                logins=logins,
                realtime=sink,
            )
            keep(app, runtime)
            stack.callback(forget, app)
            sweeper = Sweeper(
                runtime.tickets,
                lambda: to_thread.run_sync(_tenant_ids, database),
                runtime.write,
                settings.sweep_interval_s,
            )
            sweeping = asyncio.create_task(sweeper.run(), name="sweeper")
            stack.push_async_callback(_cancel, sweeping)
            if settle_heap:
                _settle_heap()
            yield

    app = FastAPI(
        title="QueueCast API",
        version="1",
        summary="Multi-tenant queue calling: tickets, operators, screens over MQTT",
        description=API_DESCRIPTION,
        lifespan=lifespan,
        # FastAPI's own /docs and /redoc load their scripts from a CDN: see routers.docs.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    # Queue lengths are read at scrape time from the running app (none outside its lifespan).
    metrics = Metrics(lambda: _queue_lengths(running(app)))
    install_error_handlers(app)
    # Innermost: the API's requests pass it with one prefix check, pages and files get the
    # browser security headers (the pages' policy names the broker's WebSocket origin).
    app.add_middleware(SecurityHeaders, broker_origin=pages.broker_origin)
    # The ticket fast lane inside the metrics middleware (added later = outer), so the requests
    # it serves are measured and labelled like the others.
    if settings.ticket_lane:
        check_routes(tickets_router.routes)  # refuse to start on a lane out of step
        lane_counts: dict[str, Callable[[], None]] = {}

        def lane_served(template: str) -> None:
            count = lane_counts.get(template)
            if count is None:
                count = lane_counts[template] = metrics.ticket_lane.labels(template).inc
            count()

        app.add_middleware(TicketLane, served=lane_served)
    app.add_middleware(IssueLimit, settings=settings)
    app.add_middleware(LoginGate, path=TOKEN_URL)
    app.add_middleware(HttpLatencyMiddleware, metrics=lambda: metrics)
    app.add_middleware(StrictTransport, max_age_s=settings.http_hsts_max_age_s)
    # Outermost: nothing reads a body before its size is judged.
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.http_max_body_bytes,
        faults=FaultLog(logging.getLogger("publisher_api.limits"), settings.fault_log_interval_s),
    )
    # MQTT over WebSocket skips the HTTP stack altogether (added last = outermost of ours; its
    # frame size is uvicorn's ws_max_size, see publisher_api.server).
    app.add_middleware(MqttLane, owner=app)
    # The hot ticket routes first: routing tries routers in order.
    for module in (
        tickets,
        counters,
        lifecycle,
        health,
        auth,
        admin,
        stats,
        realtime_routes,
        pages,
    ):
        app.include_router(module.router)
    for module in (pairing, branding, suspension, user_access, kiosk):  # the admin console's
        app.include_router(module.router)
    app.include_router(assets.router)  # identifiers.js, before the static files under /web
    app.router.routes.extend(assets.mounts())
    if settings.docs_enabled:  # dev only, unless QUEUECAST_API_DOCS says otherwise
        serve_docs(app)
    return app


def prepare_database(database: Database, settings: Settings) -> list[SeededDevice] | None:
    """Blocking start-up work (run in a thread): migrate, then seed or refuse defaults."""
    upgrade_to_head(database)
    ensure_bootstrap_superadmin(database, settings)
    if not settings.is_dev:
        refuse_dev_logins(database)
        return None
    return seed_dev(Writer(database, NullSink()), settings)


def _announce_dev(settings: Settings, devices: list[SeededDevice]) -> None:
    scheme = "https" if settings.https else "http"
    base = f"{scheme}://{settings.http_host}:{settings.http_port}"
    tenant = f"{base}/t/default"
    lines = [
        "QueueCast dev mode: tenant 'default' is seeded.",
        f"  call display:   {tenant}/display",
        f"  kiosk:          {tenant}/totem  (asks for the totem token below once)",
        f"  operator:       {tenant}/operator  (operator/operator)",
        f"  site admin:     {tenant}/admin  (admin/admin)",
        f"  superadmin:     {base}/admin  (root/root)",
        f"  API docs:       {base}/docs",
        *(f"  {d.role} device {d.id!r} token: {d.token}" for d in devices),
    ]
    print("\n".join(lines), flush=True)


def _settle_heap() -> None:
    """Take everything built at start-up (FastAPI's routes and schemas, pydantic validators,
    SQLAlchemy metadata, the broker: ~150,000 objects) out of the garbage collector's full
    scans. Each full collection walked them all, ~100 ms with the event loop stopped, and that
    was the p99 of every request under load. Objects made later are collected as usual. Only
    for the server process: tests build many apps in one process and must collect them."""
    from broker.heap import settle_for_connections  # amqtt is imported only when needed

    settle_for_connections()  # gc.collect(), gc.freeze(), and thresholds for many connections


def _queue_lengths(runtime: Runtime | None) -> Mapping[str, int]:
    if runtime is None:
        return {}
    with runtime.database.session() as session:
        tenants = session.scalars(select(TenantRow.id)).all()
        rows = session.execute(
            select(TicketRow.tenant_id, func.count())
            .where(TicketRow.status == TicketStatus.WAITING.value)
            .group_by(TicketRow.tenant_id)
        ).all()
    waiting = {tenant: int(count) for tenant, count in rows}
    return {tenant: waiting.get(tenant, 0) for tenant in tenants}  # empty queues show as 0


def _tenant_ids(database: Database) -> list[str]:
    with database.session() as session:
        return list(session.scalars(select(TenantRow.id).order_by(TenantRow.id)))


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
