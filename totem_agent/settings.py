"""Totem options on top of the shared agent settings (``QUEUECAST_AGENT_*`` too)."""

from __future__ import annotations

from pydantic import Field, field_validator

from edge.settings import AgentSettings


class TotemSettings(AgentSettings):
    printer: str | None = Field(
        default=None,
        description="ESC/POS printer: file:/dev/usb/lp0, usb:0x04b8:0x0202 or network:host[:port]",
    )
    ticket_screen_s: float = Field(default=20.0, gt=0, description="Ticket screen timeout")
    called_screen_s: float = Field(default=15.0, gt=0, description="Called screen timeout")
    error_screen_s: float = Field(default=8.0, gt=0, description="Error message timeout")
    issue_retry_s: float = Field(
        default=15.0, gt=0, description="How long to keep retrying an unanswered ticket request"
    )

    @field_validator("printer")
    @classmethod
    def _printer_kind(cls, value: str | None) -> str | None:
        if value is not None and value.partition(":")[0] not in ("file", "usb", "network"):
            raise ValueError("must start with file:, usb: or network:")
        return value
