"""The worker's DEALER socket: connecting (routing id, CURVE, READY), sending, heartbeats, goodbye. Only the
thread that holds ``lock`` touches the socket: the socket thread, or, while the socket thread runs a handler
in inline mode, the heartbeat helper (libzmq lets a socket move between threads across a full memory
barrier, which the lock provides)."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, List, Optional, Sequence

import zmq

from . import protocol
from .settings import Settings

log = logging.getLogger("baton_worker")

# Plain ints: pyzmq's flag enums cost microseconds per frame on the request path.
NOBLOCK = int(zmq.NOBLOCK)
MORE = int(zmq.NOBLOCK | zmq.SNDMORE)


class Connection:
    """One worker's socket towards the broker, made again on :meth:`connect` after a loss."""

    def __init__(self, settings: Settings, ready: Sequence[bytes]) -> None:
        self.settings = settings
        self.ready = list(ready)
        self.lock = threading.Lock()
        self.socket: Optional["zmq.Socket[bytes]"] = None
        self.next_heartbeat = 0.0
        self._context = zmq.Context()
        self._closing = threading.Event()

    def connect(self) -> "zmq.Socket[bytes]":
        """A new socket (closing the old one), connected, READY sent."""
        self.close()
        settings = self.settings
        socket: "zmq.Socket[bytes]" = self._context.socket(zmq.DEALER)
        socket.setsockopt(zmq.LINGER, 0)
        if settings.worker_id is not None:
            socket.setsockopt(zmq.ROUTING_ID, settings.worker_id)
        if settings.server_key is not None:
            secret = settings.secret_key
            public = settings.public_key
            if secret is None:
                public, secret = zmq.curve_keypair()
            elif public is None:
                public = zmq.curve_public(secret)
            elif zmq.curve_public(secret) != public:
                raise ValueError("the CURVE public key does not belong to the secret key")
            socket.setsockopt(zmq.CURVE_SERVERKEY, settings.server_key)
            socket.setsockopt(zmq.CURVE_PUBLICKEY, public)
            socket.setsockopt(zmq.CURVE_SECRETKEY, secret)
        socket.connect(settings.backend)
        self.socket = socket
        self.send(self.ready)
        self.next_heartbeat = time.monotonic() + settings.heartbeat_interval
        return socket

    def close(self) -> None:
        """Closes the socket at once (nothing left to say)."""
        if self.socket is not None:
            self.socket.close(linger=0)
            self.socket = None

    def goodbye(self) -> None:
        """DISCONNECT after the last reply, then close with a short linger so that it leaves."""
        if self.socket is None:
            return
        self.send([protocol.DISCONNECT])
        self.socket.close(linger=1000)
        self.socket = None

    def terminate(self) -> None:
        """Stops the heartbeat helper and ends the ZeroMQ context (the socket must be closed)."""
        self._closing.set()
        self._context.term()

    def send(self, frames: List[Any]) -> None:
        """Sends one message without blocking; drops it (with a warning) when the broker is not reading."""
        socket = self.socket
        assert socket is not None
        try:
            for frame in frames[:-1]:
                socket.send(frame, MORE)
            socket.send(frames[-1], NOBLOCK)
        except zmq.Again:  # only the first frame can fail: libzmq admits a message whole or not at all
            log.warning("the broker is not reading: dropped a message of %d frames", len(frames))

    def send_reply(self, token: bytes, body: List[Any]) -> None:
        """``[token][""][body…]`` (the body is never empty: reply_frames makes it one empty frame)."""
        socket = self.socket
        assert socket is not None
        try:
            socket.send(token, MORE)
        except zmq.Again:
            log.warning("the broker is not reading: dropped a reply")
            return
        socket.send(b"", MORE)
        for frame in body[:-1]:
            socket.send(frame, MORE)
        socket.send(body[-1], NOBLOCK)

    def heartbeat(self, now: float) -> None:
        """Sends HEARTBEAT and schedules the next one."""
        self.send([protocol.HEARTBEAT])
        self.next_heartbeat = now + self.settings.heartbeat_interval

    def start_heartbeat_helper(self) -> None:
        """Inline mode: a thread that heartbeats while the socket thread runs a handler."""
        threading.Thread(target=self._heartbeat_helper, name="baton-heartbeat", daemon=True).start()

    def _heartbeat_helper(self) -> None:
        """While the socket thread runs a handler it releases the lock, and this thread sends the heartbeats
        that fall due meanwhile. While the socket thread holds the lock it heartbeats itself."""
        interval = self.settings.heartbeat_interval
        delay = interval
        while not self._closing.wait(delay):
            if not self.lock.acquire(blocking=False):
                delay = interval / 4
                continue
            try:
                now = time.monotonic()
                if self.socket is not None and now >= self.next_heartbeat:
                    self.heartbeat(now)
                delay = max(0.001, self.next_heartbeat - now)
            finally:
                self.lock.release()
