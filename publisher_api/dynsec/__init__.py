"""Tenant isolation enforced by an external broker: Mosquitto's dynamic-security plugin kept in
step with our grants (``provisioner``), and the EMQX configuration that checks our tokens
itself (``emqx``; ``python -m publisher_api.dynsec emqx-config``)."""
