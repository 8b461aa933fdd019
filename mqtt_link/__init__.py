"""The one resilient MQTT client: the agents' link (``edge.link``) and the API's connection to
an external broker (``publisher_api.publishing.connection``) both run on it.

Empty on purpose: ``mqtt_link.backoff`` is pure and must load without paho; the client is in
``mqtt_link.client``."""
