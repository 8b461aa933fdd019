"""Branding over real HTTP: a logo upload is checked (type, size, that it decodes, that an SVG
can do nothing but draw), stored, served, and announced in the queue snapshot with the accent
colour; a refused upload changes nothing."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from publisher_api.services.logo import MAX_LOGO_BYTES
from tests.api.conftest import TENANT, Api

BASE = f"/api/v1/tenants/{TENANT}"


def png(size: tuple[int, int] = (64, 32), colour: str = "#1a73e8") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def upload(api: Api, data: bytes, content_type: str) -> tuple[int, dict[str, object]]:
    headers = {**api.auth("admin"), "Content-Type": content_type}
    r = api.http.put(f"{BASE}/logo", content=data, headers=headers)
    return r.status_code, r.json()


def test_png_logo_is_stored_served_and_in_the_snapshot(api: Api) -> None:
    before = api.queue()["seq"]
    status, body = upload(api, png(), "image/png")
    assert status == 200, body
    url = str(body["logo_url"])
    queue = api.queue()
    assert queue["logo_url"] == url
    assert queue["seq"] > before
    served = api.http.get(url)
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    assert served.content == png()
    assert "sandbox" in served.headers["content-security-policy"]
    assert "immutable" in served.headers["cache-control"]


def test_accent_colour(api: Api) -> None:
    admin = api.auth("admin")
    r = api.http.patch(f"{BASE}/branding", json={"accent_color": "#C0FFEE"}, headers=admin)
    assert r.status_code == 200
    assert r.json()["accent_color"] == "#c0ffee"
    assert api.queue()["accent_color"] == "#c0ffee"
    assert api.http.get(f"{BASE}/branding").json()["accent_color"] == "#c0ffee"
    bad = api.http.patch(f"{BASE}/branding", json={"accent_color": "red"}, headers=admin)
    assert (bad.status_code, bad.json()["error"]) == (422, "validation_error")
    r = api.http.patch(f"{BASE}/branding", json={"accent_color": "#zzzzzz"}, headers=admin)
    assert r.status_code == 422
    operator = api.http.patch(
        f"{BASE}/branding", json={"accent_color": "#000000"}, headers=api.auth("operator")
    )
    assert operator.status_code == 403
    assert api.queue()["accent_color"] == "#c0ffee"


SAFE_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
    b'<rect width="10" height="10" fill="#123456"/></svg>'
)


def test_safe_svg_is_accepted(api: Api) -> None:
    status, body = upload(api, SAFE_SVG, "image/svg+xml")
    assert status == 200, body
    served = api.http.get(str(body["logo_url"]))
    assert served.headers["content-type"].startswith("image/svg+xml")


@pytest.mark.parametrize(
    ("data", "content_type", "status", "error"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "image/png", 422, "invalid_image"),
        (png((200, 200))[:90], "image/png", 422, "invalid_image"),
        (png(), "image/jpeg", 422, "invalid_image"),
        (b"", "image/png", 422, "invalid_image"),
        (b"GIF89a....", "image/gif", 415, "unsupported_media_type"),
        (b"<svg", "image/svg+xml", 422, "invalid_image"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "image/svg+xml",
            422,
            "invalid_image",
        ),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
            "image/svg+xml",
            422,
            "invalid_image",
        ),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:x="http://www.w3.org/1999/xlink">'
            b'<image x:href="http://evil.example/x.png"/></svg>',
            "image/svg+xml",
            422,
            "invalid_image",
        ),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><rect style="fill:url(http://evil.example/a)"/></svg>',
            "image/svg+xml",
            422,
            "invalid_image",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">]><svg xmlns="http://www.w3.org/2000/svg">&a;</svg>',
            "image/svg+xml",
            422,
            "invalid_image",
        ),
        (b"<html><body>hi</body></html>", "image/svg+xml", 422, "invalid_image"),
        (b"x" * (MAX_LOGO_BYTES + 1), "image/png", 413, "payload_too_large"),
    ],
    ids=[
        "png-garbage",
        "png-truncated",
        "png-as-jpeg",
        "empty",
        "gif",
        "svg-broken",
        "svg-script",
        "svg-onload",
        "svg-external-image",
        "svg-external-css",
        "svg-doctype",
        "html-as-svg",
        "oversized",
    ],
)
def test_bad_logos_are_refused_and_change_nothing(
    api: Api, data: bytes, content_type: str, status: int, error: str
) -> None:
    before = api.queue()
    got, body = upload(api, data, content_type)
    assert (got, body["error"]) == (status, error), body
    after = api.queue()
    assert (after["seq"], after["logo_url"]) == (before["seq"], before["logo_url"])


def test_oversized_streamed_body_is_refused(api: Api) -> None:
    """No Content-Length (chunked): refused while it streams in."""

    def chunks() -> object:
        for _ in range(MAX_LOGO_BYTES // 1024 + 2):
            yield b"\0" * 1024

    headers = {**api.auth("admin"), "Content-Type": "image/png"}
    r = api.http.put(f"{BASE}/logo", content=chunks(), headers=headers)  # type: ignore[arg-type]
    assert (r.status_code, r.json()["error"]) == (413, "payload_too_large")


def test_logo_needs_an_admin_and_can_be_removed(api: Api) -> None:
    r = api.http.put(
        f"{BASE}/logo",
        content=png(),
        headers={**api.auth("operator"), "Content-Type": "image/png"},
    )
    assert r.status_code == 403
    assert upload(api, png(), "image/png")[0] == 200
    r = api.http.delete(f"{BASE}/logo", headers=api.auth("admin"))
    assert r.status_code == 200
    assert r.json()["logo_url"] is None
    assert api.queue()["logo_url"] is None
    assert api.http.get(f"{BASE}/logo").status_code == 404
