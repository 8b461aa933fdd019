"""Branding: ``PUT/DELETE /api/v1/tenants/{tenant}/logo`` (admin; the body is the image itself,
PNG, JPEG or SVG, at most 256 KiB), ``GET .../logo`` (public, what screens show), and
``GET/PATCH .../branding`` (the accent colour; the logo's URL)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from publisher_api import site_schemas
from publisher_api.deps import AdminAccess, PublicTenant, RuntimeDep, SessionDep
from publisher_api.services import branding
from publisher_api.services.logo import MAX_LOGO_BYTES, LogoTooLarge, check_logo

router = APIRouter(prefix="/api/v1/tenants/{tenant}", tags=["branding"])

# An SVG logo is only ever an image: nothing in it may run, load or be framed.
_LOGO_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


@router.get("/branding", response_model=site_schemas.BrandingOut)
def get_branding(tenant: PublicTenant, session: SessionDep) -> site_schemas.BrandingOut:
    return branding.get_branding(session, tenant)


@router.patch("/branding", response_model=site_schemas.BrandingOut)
def update_branding(
    body: site_schemas.BrandingIn, scope: AdminAccess, runtime: RuntimeDep
) -> site_schemas.BrandingOut:
    """The accent colour (``#rrggbb``; null for the default) used by every screen."""
    return branding.set_accent(runtime.writer, scope.tenant, body)


@router.put(
    "/logo",
    response_model=site_schemas.BrandingOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                t: {"schema": {"type": "string", "format": "binary"}}
                for t in (
                    "image/png",
                    "image/jpeg",
                    "image/svg+xml",
                )
            },
        }
    },
)
async def upload_logo(
    request: Request,
    scope: AdminAccess,
    runtime: RuntimeDep,
    content_type: Annotated[str, Header()] = "",
) -> site_schemas.BrandingOut:
    """Replace the logo. 413 ``payload_too_large`` beyond 256 KiB, 415 for another type, 422
    ``invalid_image`` for a file that does not decode or an SVG with scripts, event handlers,
    external references or a DOCTYPE. A refused upload changes nothing."""
    data = await _read_limited(request)
    media = await run_in_threadpool(check_logo, content_type, data)
    return await run_in_threadpool(branding.set_logo, runtime.writer, scope.tenant, data, media)


@router.delete("/logo", response_model=site_schemas.BrandingOut)
def delete_logo(scope: AdminAccess, runtime: RuntimeDep) -> site_schemas.BrandingOut:
    return branding.set_logo(runtime.writer, scope.tenant, None, None)


@router.get("/logo", response_class=Response)
def get_logo(
    tenant: PublicTenant, session: SessionDep, v: Annotated[str | None, Query()] = None
) -> Response:
    logo = branding.get_logo(session, tenant)
    # A versioned URL never changes content: cache it for good; the bare URL revalidates.
    cache = "public, max-age=31536000, immutable" if v == logo.version else "no-cache"
    return Response(
        logo.data,
        media_type=logo.media_type,
        headers={
            "Cache-Control": cache,
            "ETag": f'"{logo.version}"',
            "Content-Security-Policy": _LOGO_CSP,
            "X-Content-Type-Options": "nosniff",
        },
    )


async def _read_limited(request: Request) -> bytes:
    """The body, refused with 413 as soon as it is known to be too large (by its declared
    length, or while it streams in), before it is all buffered."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_LOGO_BYTES:
        raise LogoTooLarge(f"a logo is at most {MAX_LOGO_BYTES // 1024} KiB", limit=MAX_LOGO_BYTES)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_LOGO_BYTES:
            raise LogoTooLarge(
                f"a logo is at most {MAX_LOGO_BYTES // 1024} KiB", limit=MAX_LOGO_BYTES
            )
        chunks.append(chunk)
    return b"".join(chunks)
