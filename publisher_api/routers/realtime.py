"""Realtime endpoints: MQTT credentials, the AsyncAPI document, MQTT over WebSocket at /mqtt.
(Stub until the realtime issue lands.)"""

from fastapi import APIRouter

router = APIRouter()
