"""Helpers shared by the test suites: free ports, real MQTT clients, a running system."""
