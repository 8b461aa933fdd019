"""Committed queue state -> MQTT: the API is the only publisher of queue state."""
