"""Raw sockets in tests that check what the server does to a connection."""

from __future__ import annotations

import socket


def recv_or_reset(sock: socket.socket, size: int = 1024) -> bytes:
    """What the server sent, ``b""`` once it has closed the connection, whether it closed it
    cleanly or reset it (a close with unread bytes resets)."""
    try:
        return sock.recv(size)
    except ConnectionResetError:
        return b""
