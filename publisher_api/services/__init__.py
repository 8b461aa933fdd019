"""Use cases over the store: every write goes through :class:`changes.Writer`."""
