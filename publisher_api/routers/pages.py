"""Browser pages (display, totem, ticket follower, operator console). (Stub until they land.)"""

from fastapi import APIRouter

router = APIRouter()
