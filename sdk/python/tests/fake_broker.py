"""A stand-in for Baton's backend in unit tests: a real ROUTER socket the worker under test connects to, with
helpers to send what the broker sends and to wait, with a deadline, for what the worker answers."""

from __future__ import annotations

import threading
import time
from typing import Callable, List, Optional

import zmq

from baton_worker import Settings, Worker

HEARTBEAT = b"\x02"


class FakeBroker:
    """The broker's side of the worker protocol, driven by the test."""

    def __init__(self, endpoint: str, curve_secret: Optional[bytes] = None) -> None:
        self.endpoint = endpoint
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.ROUTER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.setsockopt(zmq.ROUTER_MANDATORY, 1)
        if curve_secret is not None:
            self.socket.setsockopt(zmq.CURVE_SERVER, 1)
            self.socket.setsockopt(zmq.CURVE_SECRETKEY, curve_secret)
        self.socket.bind(endpoint)
        self.heartbeats = 0
        self.received: List[List[bytes]] = []
        self.heartbeating = True
        """Whether the broker heartbeats the workers it has heard from while the test waits (every 50 ms)."""
        self._workers: List[bytes] = []
        self._next_heartbeat = 0.0

    def close(self) -> None:
        self.socket.close(linger=0)
        self.context.term()

    def next(self, timeout: float = 5.0, heartbeats: bool = False) -> List[bytes]:
        """The next message from a worker (routing id first); heartbeats are counted and skipped unless
        asked for. Fails the test after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            frames = self._receive(deadline)
            if frames is None:
                raise AssertionError(f"no message from the worker within {timeout} s")
            if frames[1:] == [HEARTBEAT]:
                self.heartbeats += 1
                if not heartbeats:
                    continue
            self.received.append(frames)
            return frames

    def silence(self, seconds: float) -> List[List[bytes]]:
        """Everything but heartbeats that arrives within ``seconds``."""
        messages = []
        deadline = time.monotonic() + seconds
        while True:
            frames = self._receive(deadline)
            if frames is None:
                return messages
            if frames[1:] == [HEARTBEAT]:
                self.heartbeats += 1
            else:
                messages.append(frames)

    def _receive(self, deadline: float) -> Optional[List[bytes]]:
        """The next message before ``deadline``, heartbeating the known workers meanwhile."""
        while True:
            now = time.monotonic()
            if self.heartbeating and now >= self._next_heartbeat:
                for worker in self._workers:
                    try:
                        self.socket.send_multipart([worker, HEARTBEAT])
                    except zmq.ZMQError:
                        pass  # gone (ROUTER_MANDATORY)
                self._next_heartbeat = now + 0.05
            left = min(deadline, self._next_heartbeat) - now if self.heartbeating else deadline - now
            if deadline - now <= 0:
                return None
            if self.socket.poll(max(1, int(left * 1000) + 1)):
                frames = self.socket.recv_multipart()
                if frames[0] not in self._workers:
                    self._workers.append(frames[0])
                return frames

    def ready(self, timeout: float = 5.0) -> List[bytes]:
        """Waits for a READY and returns it (routing id first)."""
        frames = self.next(timeout)
        assert frames[1] == b"\x01", frames
        return frames

    def send(self, worker: bytes, *frames: bytes) -> None:
        self.socket.send_multipart([worker, *frames])

    def request(self, worker: bytes, token: bytes, *body: bytes) -> None:
        """A request as the broker forwards it: ``[token][""][body…]``."""
        self.send(worker, token, b"", *body)

    def session_request(self, worker: bytes, token: bytes, key: bytes, *body: bytes) -> None:
        self.request(worker, token, b"BATON-SESSION", key, *body)

    def replies(self, count: int, timeout: float = 10.0) -> dict:
        """The next ``count`` replies, by token: ``{token: body}``."""
        result = {}
        while len(result) < count:
            frames = self.next(timeout)
            assert len(frames) >= 4 and frames[2] == b"", frames
            result[frames[1]] = frames[3:]
        return result


def token(number: int) -> bytes:
    """An 8-byte token, as the broker mints them."""
    return number.to_bytes(8, "big")


class RunningWorker:
    """A :class:`Worker` running on a thread of the test process, stopped and joined at the end."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.status: Optional[int] = None
        self.error: Optional[BaseException] = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.status = self.worker.run()
        except BaseException as error:  # noqa: B902 - reported by join()
            self.error = error

    def join(self, timeout: float = 10.0) -> Optional[int]:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the worker did not return"
        if self.error is not None:
            raise self.error
        return self.status

    def stop(self, timeout: float = 10.0) -> Optional[int]:
        self.worker.stop()
        return self.join(timeout)


def start(broker: FakeBroker, handler: Optional[Callable] = None, worker_id: bytes = b"w1",
          **options) -> RunningWorker:
    """Runs a worker against ``broker`` with a short heartbeat, and waits for nothing."""
    settings = Settings(backend=broker.endpoint, worker_id=worker_id,
                        heartbeat_interval=options.pop("heartbeat_interval", 0.1),
                        heartbeat_liveness=options.pop("heartbeat_liveness", 3),
                        drain_timeout=options.pop("drain_timeout", 4.0),
                        managed=options.pop("managed", False))
    return RunningWorker(Worker(handler, settings=settings, **options))
