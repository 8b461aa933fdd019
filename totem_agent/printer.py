"""Optional ESC/POS thermal printer (python-escpos): tenant, number, service, place in line,
the counters that serve it (when not all do), time and a QR.

The printer is opened for each ticket and closed after it, so a printer switched off, out of
paper or unplugged between tickets costs one failed print (logged), never a stuck kiosk. The QR
is sent as the printer's native QR command (80 mm and 58 mm Epson-compatible printers), so the
URL travels as text and prints crisp at any resolution.
"""

from __future__ import annotations

import logging
from typing import Any

from edge.clock import tenant_time
from edge.texts import texts_for
from totem_agent.state import PrintTicket

log = logging.getLogger(__name__)

_PROFILE = "default"  # generic ESC/POS; a model profile would only add paper-width knowledge


def open_printer(spec: str) -> Any:
    """``file:/dev/usb/lp0`` | ``usb:0x04b8:0x0202`` | ``network:192.168.0.50[:9100]``."""
    # Imported here: python-escpos costs ~6 MB of memory, spent only by kiosks with a printer.
    from escpos.printer import File, Network, Usb

    kind, _, where = spec.partition(":")
    if kind == "file" and where:
        return File(devfile=where, profile=_PROFILE)
    if kind == "usb":
        vendor, _, product = where.partition(":")
        return Usb(int(vendor, 16), int(product, 16), profile=_PROFILE)
    if kind == "network" and where:
        host, _, port = where.partition(":")
        return Network(host, int(port or 9100), profile=_PROFILE)
    raise ValueError(f"unknown printer {spec!r}")


def print_ticket(printer: Any, job: PrintTicket, *, url: str) -> None:
    texts = texts_for(job.locale)
    printer.hw("INIT")
    printer.set(align="center", bold=True)
    if job.tenant_name:
        printer.text(f"{job.tenant_name}\n")
    printer.set(align="center", normal_textsize=True)
    printer.text(f"{texts.your_ticket}\n")
    printer.set(align="center", bold=True, double_width=True, double_height=True)
    printer.text(f"{job.ticket.number}\n")
    printer.set(align="center", normal_textsize=True)
    printer.text(f"{job.service_name}\n")
    position = job.ticket.position
    if position is not None:  # the server's place in this service's own line
        printer.text(f"{texts.position.format(n=position)}\n")
    if job.places:
        printer.text(f"{texts.served_at.format(places=', '.join(job.places))}\n")
    # When the server issued it, on the tenant's wall clock (the one the kiosk's screen shows),
    # never UTC nor the device's own zone.
    issued = tenant_time(job.ticket.created_at, job.timezone)
    printer.text(f"{issued.strftime('%d/%m/%Y %H:%M')}\n\n")
    printer.qr(url, native=True, size=6, center=False)
    printer.text(f"{texts.follow_on_phone}\n")
    printer.cut()


def print_job(spec: str, job: PrintTicket, *, url: str) -> None:
    """Open, print, close; failures are logged (a kiosk without paper still issues tickets)."""
    try:
        printer = open_printer(spec)
        try:
            print_ticket(printer, job, url=url)
        finally:
            printer.close()
    except Exception as exc:
        log.error("could not print ticket %s on %s: %s", job.ticket.number, spec, exc)
