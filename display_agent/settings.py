"""Display options on top of the shared agent settings (``QUEUECAST_AGENT_*`` too)."""

from __future__ import annotations

from pydantic import Field, field_validator

from edge.settings import AgentSettings, CommaInts, CommaList, comma_list


class DisplaySettings(AgentSettings):
    services: CommaList = Field(
        default=None, description="Show only these service prefixes, e.g. A,P (default: all)"
    )
    counters: CommaInts = Field(
        default=None, description="Show only these counters, e.g. 1,2 (default: all)"
    )
    history: int = Field(default=6, ge=1, le=9, description="How many past calls to list")
    highlight_s: float = Field(
        default=10.0, ge=0, description="Seconds a new call stays highlighted"
    )

    _split = field_validator("services", "counters", mode="before")(comma_list)
