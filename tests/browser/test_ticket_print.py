"""The browser kiosk's paper ticket (issue 14), as a kiosk in printing mode prints it on 58 and
80 mm thermal rolls: number, service, the issue time in the tenant's time zone (the kiosk's own
clock is set to another zone), position, and a QR code that decodes to the ticket's follow page
at the tenant's public URL (``QUEUECAST_PUBLIC_URL``), not at the address the kiosk reached.

Each field is checked inside the slip and the slip inside the paper, in print media; the QR is
decoded from the rendered slip with zxing-cpp; the PDF Chromium prints is one page per ticket.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import zxingcpp
from PIL import Image

from tests.browser.conftest import FAST, NewContext, Watched, wait_live
from tests.support.ports import free_port
from tests.support.system import RunningSystem, start_system

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PX_PER_MM = 96 / 25.4
PRINTABLE_MM = {"58": 48, "80": 72}  # what the printer's head reaches on each roll


@pytest.fixture(scope="module")
def public_url() -> str:
    return f"http://localhost:{free_port()}"


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory, public_url: str) -> Iterator[RunningSystem]:
    """The API on 127.0.0.1, advertised to phones as localhost: a QR code built from the
    address the kiosk reached would say 127.0.0.1."""
    port = int(public_url.rsplit(":", 1)[1])
    env = {"QUEUECAST_PUBLIC_URL": public_url}
    with start_system(tmp_path_factory.mktemp("print"), env=env, http_port=port) as running:
        yield running


def set_timezone(system: RunningSystem, timezone: str) -> None:
    admin = system.auth(system.login("admin"))
    response = system.http.patch(
        f"/api/v1/tenants/{system.tenant}", json={"timezone": timezone}, headers=admin
    )
    assert response.status_code == 200, response.text


SLIP = """() => {
  const box = (el) => { const r = el.getBoundingClientRect();
    return { left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width }; };
  const slip = document.querySelector("#print-slip");
  const style = getComputedStyle(slip);
  const content = box(slip);
  content.left += parseFloat(style.paddingLeft);
  content.right -= parseFloat(style.paddingRight);
  const parts = [...slip.querySelectorAll(
    ".slip-tenant, .slip-caption, .slip-number, .slip-service, .slip-lines div, dt, dd, " +
    ".slip-qr, .slip-scan")];
  return {
    slip: box(slip), content, display: style.display,
    screenHidden: [...document.body.children].filter((el) => el !== slip)
      .every((el) => getComputedStyle(el).display === "none"),
    parts: parts.map((el) => ({ name: el.className || el.tagName, text: el.textContent,
      box: box(el), cut: el.scrollWidth > el.clientWidth + 0.5 })),
    fields: Object.fromEntries(["slip-number", "slip-service", "slip-scan"].map((c) =>
      [c, slip.querySelector("." + c).textContent])),
    lines: [...slip.querySelectorAll(".slip-lines div")].map((div) =>
      [div.querySelector("dt").textContent, div.querySelector("dd").textContent]),
    qrLoaded: slip.querySelector(".slip-qr").naturalWidth > 0,
  };
}"""


def inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    return inner["left"] >= outer["left"] - 0.5 and inner["right"] <= outer["right"] + 0.5


def decode_qr(png: bytes) -> list[str]:
    image = Image.open(io.BytesIO(png)).convert("L")
    return [result.text for result in zxingcpp.read_barcodes(image)]


@pytest.mark.parametrize(
    ("tenant_tz", "kiosk_tz"),
    [("America/Sao_Paulo", "Asia/Tokyo"), ("Asia/Tokyo", "America/Sao_Paulo")],
)
def test_the_printed_ticket_fits_its_roll_with_local_time_and_the_public_qr(
    system: RunningSystem,
    new_context: NewContext,
    public_url: str,
    tenant_tz: str,
    kiosk_tz: str,
    output_dir: Path,
) -> None:
    set_timezone(system, tenant_tz)
    token = system.device_token(role="totem", device_id="totem-print")
    admin = system.auth(system.login("admin"))
    for paper, printable_mm in PRINTABLE_MM.items():
        width = round(int(paper) * PX_PER_MM) + 1
        context = new_context(
            viewport={"width": width, "height": 900},
            device_scale_factor=3,  # a crisp QR for the decoder, as a 203 dpi head prints it
            locale="pt-BR",
            timezone_id=kiosk_tz,
        )
        # A kiosk in printing mode prints without a dialog; here the call is counted instead.
        context.add_init_script(
            "window.print = () => { window.__printed = (window.__printed ?? 0) + 1; };"
        )
        page = context.new_page()
        page.goto(
            f"{system.base_url}/t/{system.tenant}/totem?token={token}&{FAST}&print=1&paper={paper}"
        )
        wait_live(Watched(page))
        page.wait_for_function(
            "(tz) => window.queuecast.state.snapshot?.timezone === tz", arg=tenant_tz
        )
        page.click("[data-service='A']")
        slip_number = page.wait_for_selector("[data-screen='ticket'] .slip-number")
        assert slip_number is not None
        ticket_id = slip_number.get_attribute("data-ticket-id")
        page.wait_for_function("() => window.__printed === 1")
        ticket: dict[str, Any] = system.http.get(
            f"/api/v1/tenants/{system.tenant}/tickets/{ticket_id}", headers=admin
        ).json()

        page.emulate_media(media="print")
        slip: dict[str, Any] = page.evaluate(SLIP)
        where = f"{paper} mm, tenant {tenant_tz}, kiosk {kiosk_tz}"
        assert slip["display"] != "none", where
        assert slip["screenHidden"], f"only the slip is printed ({where})"
        assert abs(slip["slip"]["width"] - int(paper) * PX_PER_MM) < 1, where
        assert slip["content"]["right"] - slip["content"]["left"] <= printable_mm * PX_PER_MM + 1
        for part in slip["parts"]:
            assert inside(part["box"], slip["content"]), f"{part} leaves the paper ({where})"
            assert not part["cut"], f"{part} overflows ({where})"

        assert slip["fields"]["slip-number"] == ticket["number"]
        assert slip["fields"]["slip-service"] == "Atendimento geral"
        assert slip["fields"]["slip-scan"] == "Acompanhe pelo celular"
        lines = dict(slip["lines"])
        assert lines["Sua posição"] == f"{ticket['position']}º"
        created = datetime.fromisoformat(ticket["created_at"])
        local, kiosk = (
            created.astimezone(ZoneInfo(tenant_tz)),
            created.astimezone(ZoneInfo(kiosk_tz)),
        )
        printed = lines["Emitida em"]
        assert re.search(rf"\b{local:%d/%m/%Y}\b", printed), (printed, local, where)
        assert re.search(rf"\b{local:%H:%M}\b", printed), (printed, local, where)
        assert not re.search(rf"\b{kiosk:%H:%M}\b", printed), "the kiosk's clock, not the tenant's"

        assert slip["qrLoaded"], where
        qr_png = page.locator("#print-slip .slip-qr").screenshot()
        follow = f"{public_url}/t/{system.tenant}/ticket/{ticket_id}"
        assert decode_qr(qr_png) == [follow], where
        page.locator("#print-slip").screenshot(path=output_dir / f"slip-{paper}mm.png")
        pdf = page.pdf(prefer_css_page_size=True, print_background=True)
        (output_dir / f"slip-{paper}mm.pdf").write_bytes(pdf)
        assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1, "one page (one cut) per ticket"
