"""Checking an uploaded logo before it is stored: a PNG or JPEG that really decodes, or an SVG
that can do nothing but draw. SVG is not rewritten (a sanitiser that edits markup is easy to get
subtly wrong); one with anything active or external in it is refused, with the reason."""

from __future__ import annotations

import io
import re
import warnings
import xml.etree.ElementTree as ET

from PIL import Image

from publisher_api.errors import ApiError

MAX_LOGO_BYTES = 256 * 1024
MAX_PIXELS = 4096 * 4096
TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/svg+xml": "SVG"}

_SVG_ELEMENTS = frozenset(
    [
        "svg",
        "g",
        "defs",
        "symbol",
        "use",
        "title",
        "desc",
        "path",
        "rect",
        "circle",
        "ellipse",
        "line",
        "polyline",
        "polygon",
        "text",
        "tspan",
        "textpath",
        "lineargradient",
        "radialgradient",
        "stop",
        "clippath",
        "mask",
        "pattern",
        "style",
        "metadata",
    ]
)
_SVG_STYLE_DANGER = re.compile(r"url\s*\(\s*['\"]?\s*(?!#)|@import|expression\s*\(", re.I)


class LogoTooLarge(ApiError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedLogoType(ApiError):
    status_code = 415
    code = "unsupported_media_type"


class InvalidLogo(ApiError):
    status_code = 422
    code = "invalid_image"


def check_logo(content_type: str, data: bytes) -> str:
    """The media type to store ``data`` under; a refusal (413, 415, 422) otherwise."""
    media = content_type.split(";")[0].strip().lower()
    if media not in TYPES:
        raise UnsupportedLogoType(
            f"a logo is PNG, JPEG or SVG, not {media or 'unknown'}", allowed=sorted(TYPES)
        )
    if len(data) > MAX_LOGO_BYTES:
        raise LogoTooLarge(f"a logo is at most {MAX_LOGO_BYTES // 1024} KiB", limit=MAX_LOGO_BYTES)
    if not data:
        raise InvalidLogo("the file is empty")
    if media == "image/svg+xml":
        _check_svg(data)
    else:
        _check_bitmap(TYPES[media], data)
    return media


def _check_bitmap(kind: str, data: bytes) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.format != kind:
                    raise InvalidLogo(f"the file is not a {kind} image")
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise InvalidLogo("the image has too many pixels")
                image.load()  # decodes every byte: a truncated or corrupt file fails here
    except InvalidLogo:
        raise
    except Exception as exc:  # Pillow raises many kinds for broken files
        raise InvalidLogo(f"the file is not a readable {kind} image") from exc


def _check_svg(data: bytes) -> None:
    head = data[:2048].lower()
    if b"<!doctype" in head or b"<!entity" in data.lower():
        raise InvalidLogo("SVG with a DOCTYPE or entities is refused")
    try:
        root = ET.fromstring(data)  # noqa: S314 - no DOCTYPE, so no entity expansion
    except ET.ParseError as exc:
        raise InvalidLogo("the file is not well-formed SVG") from exc
    if _local(root.tag) != "svg":
        raise InvalidLogo("the file is not SVG")
    for element in root.iter():
        name = _local(element.tag).lower()
        if name not in _SVG_ELEMENTS:
            raise InvalidLogo(f"SVG element <{_local(element.tag)}> is not allowed in a logo")
        for attribute, value in element.attrib.items():
            attr = _local(attribute).lower()
            if attr.startswith("on"):
                raise InvalidLogo("SVG with event handlers is refused")
            if attr == "href" and not value.strip().startswith("#"):
                raise InvalidLogo("SVG with external links or images is refused")
            if _SVG_STYLE_DANGER.search(value):
                raise InvalidLogo("SVG referring to outside resources is refused")
        if name == "style" and _SVG_STYLE_DANGER.search(element.text or ""):
            raise InvalidLogo("SVG referring to outside resources is refused")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
