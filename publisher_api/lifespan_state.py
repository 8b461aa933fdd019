"""Where the running app's lifespan state lives, written once: ``app.state.runtime``, set by the
lifespan when everything has started and removed when it ends.

Everything that reaches the :class:`~publisher_api.runtime.Runtime` from outside a route goes
through :func:`running` (the dependencies of :mod:`publisher_api.deps`, the ASGI fast lanes and
middlewares, the server's early login refusals, the metrics collector), so no caller spells the
attribute or guesses its type. It sits just above ``runtime`` and below ``deps``: the
middlewares use it without the dependency layer (FastAPI's ``Depends`` machinery).
"""

from __future__ import annotations

from starlette.applications import Starlette

from publisher_api.runtime import Runtime

_ATTRIBUTE = "runtime"


def keep(app: Starlette, runtime: Runtime) -> None:
    """The lifespan has started: requests may reach ``runtime`` from now on."""
    setattr(app.state, _ATTRIBUTE, runtime)


def forget(app: Starlette) -> None:
    """The lifespan is ending: nothing reaches the runtime any more."""
    if hasattr(app.state, _ATTRIBUTE):
        delattr(app.state, _ATTRIBUTE)


def running(app: Starlette) -> Runtime | None:
    """The app's lifespan state (``None`` before its lifespan starts and after it ends)."""
    runtime: Runtime | None = getattr(app.state, _ATTRIBUTE, None)
    return runtime
