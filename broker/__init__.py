"""The embedded MQTT broker: amqtt with QueueCast's authentication and tenant isolation.

``EmbeddedBroker(settings, token_active=...)`` runs in the caller's event loop;
``python -m broker`` runs it alone. See :mod:`broker.embedded` and :mod:`broker.core`.
"""

from broker.embedded import EmbeddedBroker

__all__ = ["EmbeddedBroker"]
