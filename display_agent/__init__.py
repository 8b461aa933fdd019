"""Public call display (pygame): the current call very large, the last calls, chime and speech."""
