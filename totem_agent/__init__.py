"""Kiosk (pygame): choose a service, get a ticket with a QR code, be told when it is called."""
