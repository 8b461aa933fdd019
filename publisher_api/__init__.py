"""QueueCast's publisher and operator API: the only owner of queue state (see app.create_app)."""
