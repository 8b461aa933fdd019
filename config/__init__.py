"""Settings for every QueueCast process (see :mod:`config.settings`)."""

from config.settings import DEV_SECRET, Environment, Settings, get_settings

__all__ = ["DEV_SECRET", "Environment", "Settings", "get_settings"]
