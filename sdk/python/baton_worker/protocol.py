"""The frames of Baton's worker protocol, version 2 (docs/protocol.md, sections 2.1–2.5), as pure functions.

Nothing here touches a socket: these build the messages a DEALER worker sends and classify the ones it
receives, so the rules can be tested on their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence

READY = b"\x01"
"""READY: registers a heartbeating worker; may carry a capacity and capabilities (2.4)."""
HEARTBEAT = b"\x02"
"""HEARTBEAT, either way: refreshes liveness, never makes a busy worker idle."""
DISCONNECT = b"\x03"
"""DISCONNECT: the worker is leaving; sent after its last reply."""
END = b"\x04"
"""END, either way: a session ended (`[0x04][key]`)."""
EXPORT = b"\x05"
"""EXPORT: the broker asks for a session's state; the answer echoes the byte."""
IMPORT = b"\x06"
"""IMPORT: the broker hands a session's state over; the answer echoes the byte."""
RETURN = b"\x07"
"""RETURN: from a leaving worker, `[0x07][token]…` gives back requests it did not start and asks for no new ones;
from the broker, `[0x07]` says it took them back and sends no new request."""
OK = b"ok"
"""Status frame of a successful EXPORT or IMPORT answer."""
ERROR = b"error"
"""Status frame of a failed EXPORT or IMPORT answer."""
SESSION_MARKER = b"BATON-SESSION"
"""First body frame of a session request: `["BATON-SESSION"][key][body…]`."""
ERROR_MARKER = b"BATON-ERR"
"""First frame of an error reply: `["BATON-ERR"][code][text]`."""
HANDLER_ERROR = b"handler-error"
"""The error code of the reply to a request whose handler raised."""
HANDOFF = "handoff"
"""The capability word of a worker that can export and import sessions."""
MAX_CAPACITY = 1000
"""Largest capacity a worker may declare."""
MAX_SESSION_KEY_BYTES = 255
"""Longest session key."""

Frames = List[bytes]


def ready(capacity: int = 1, capabilities: Sequence[str] = ()) -> Frames:
    """The READY message: `[0x01]` alone for capacity 1 without capabilities (what a version 1 broker
    understands), else `[0x01][K]` or `[0x01][K][words]`."""
    if not 1 <= capacity <= MAX_CAPACITY:
        raise ValueError(f"capacity must be 1…{MAX_CAPACITY}, not {capacity}")
    words = " ".join(capabilities)
    if capacity == 1 and not words:
        return [READY]
    frames = [READY, str(capacity).encode()]
    if words:
        frames.append(words.encode())
    return frames


def reply(token: bytes, body: Sequence[bytes]) -> Frames:
    """A reply: `[token][""][body…]`; an empty body becomes one empty frame (a reply has at least one)."""
    return [token, b"", *body] if body else [token, b"", b""]


def handler_error(text: str) -> Frames:
    """The reply body for a request whose handler raised: `["BATON-ERR"]["handler-error"][text]`."""
    return [ERROR_MARKER, HANDLER_ERROR, text.encode()]


def return_(tokens: Sequence[bytes]) -> Frames:
    """RETURN: the worker is leaving and gives back these requests, which it did not start (may be none)."""
    return [RETURN, *tokens]


def end(key: bytes) -> Frames:
    """END from the worker: it ended this session."""
    return [END, key]


def export_ok(key: bytes, state: bytes) -> Frames:
    """The answer to EXPORT with the session's state."""
    return [EXPORT, key, OK, state]


def export_error(key: bytes, text: str) -> Frames:
    """The answer to EXPORT when the state cannot be exported."""
    return [EXPORT, key, ERROR, text.encode()]


def import_ok(key: bytes) -> Frames:
    """The answer to IMPORT once the session is taken over."""
    return [IMPORT, key, OK]


def import_error(key: bytes, text: str) -> Frames:
    """The answer to IMPORT when the state cannot be taken over."""
    return [IMPORT, key, ERROR, text.encode()]


@dataclass(frozen=True)
class Request:
    """A request from the broker: its token, and its body (for a session request: after the key)."""

    token: bytes
    body: Frames
    session: Optional[bytes] = None

    def frames(self) -> Frames:
        """The body as the client sent it (for a session request: with the marker and the key)."""
        if self.session is None:
            return self.body
        return [SESSION_MARKER, self.session, *self.body]


@dataclass(frozen=True)
class Control:
    """A session control message from the broker: END, EXPORT or IMPORT (with the state)."""

    kind: bytes
    key: bytes
    state: bytes = b""


def parse(frames: Sequence[bytes]) -> object:
    """Classifies a message from the broker: `HEARTBEAT`, `RETURN` (the answer to the worker's RETURN), a
    :class:`Request`, a :class:`Control`, or None when it is none of these (the caller logs it and carries on)."""
    count = len(frames)
    if count == 0:
        return None
    first = frames[0]
    if count == 1 and first == HEARTBEAT:
        return HEARTBEAT
    if count == 1 and first == RETURN:
        return RETURN
    if count >= 3 and len(first) > 1 and frames[1] == b"":
        body = list(frames[2:])
        if len(body) >= 3 and body[0] == SESSION_MARKER and body[1]:
            return Request(first, body[2:], body[1])
        return Request(first, body)
    if count == 2 and first in (END, EXPORT) and frames[1]:
        return Control(first, frames[1])
    if count == 3 and first == IMPORT and frames[1]:
        return Control(first, frames[1], frames[2])
    return None
