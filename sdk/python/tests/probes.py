"""Runtime probes of what the broker under test supports (protocol version 2 arrives in steps): each starts
a real ``baton serve`` and talks to it with bare pyzmq sockets (not the SDK), so a probe reflects the broker
alone. Each returns None when the feature works, else the reason a test that needs it is skipped."""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

import zmq

from live import Client, Serve


class _Worker:
    """A bare DEALER worker that heartbeats while the probe waits."""

    def __init__(self, context: zmq.Context, backend: str, name: bytes, ready: List[bytes]) -> None:
        self.name = name
        self.socket = context.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.setsockopt(zmq.ROUTING_ID, name)
        self.socket.connect(backend)
        self.socket.send_multipart(ready)
        self.held: List[List[bytes]] = []


def _pump(workers: List[_Worker], seconds: float, answer: bool, until=lambda: False) -> None:
    """Heartbeats every 100 ms and collects requests (answering them if ``answer``) for up to ``seconds``."""
    poller = zmq.Poller()
    for worker in workers:
        poller.register(worker.socket, zmq.POLLIN)
    deadline = time.monotonic() + seconds
    next_heartbeat = 0.0
    while time.monotonic() < deadline and not until():
        if time.monotonic() >= next_heartbeat:
            for worker in workers:
                worker.socket.send(b"\x02")
            next_heartbeat = time.monotonic() + 0.1
        for socket, _ in poller.poll(50):
            worker = next(w for w in workers if w.socket is socket)
            frames = socket.recv_multipart()
            if len(frames) >= 3 and frames[1] == b"":
                worker.held.append(frames)
                if answer:
                    socket.send_multipart(frames)


def _with_broker(check) -> Optional[str]:
    directory = tempfile.mkdtemp(prefix="bp-", dir="/tmp")
    serve = Serve(directory, 0)
    context = zmq.Context()
    client = None
    try:
        backend = serve.endpoints()["backend"]
        client = Client(serve.frontend)
        return check(serve, context, backend, client)
    finally:
        if client is not None:
            client.close()
        context.destroy(linger=0)
        serve.close()
        shutil.rmtree(directory, ignore_errors=True)


def probe_capacity() -> Optional[str]:
    """Does the broker keep more than one request in flight at a worker that declares capacity 2?"""
    def check(serve: Serve, context: zmq.Context, backend: str, client: Client) -> Optional[str]:
        worker = _Worker(context, backend, b"probe-capacity", [b"\x01", b"2"])
        _pump([worker], 0.3, answer=False)
        client.send(b"one")
        client.send(b"two")
        _pump([worker], 3, answer=False, until=lambda: len(worker.held) >= 2)
        if len(worker.held) >= 2:
            return None
        if not worker.held:
            return ("the broker does not accept a capacity in READY ([0x01][K], protocol 2.4): "
                    "capacity > 1 dispatch is not on this build")
        return "the broker sends one request at a time to a worker of capacity 2 (capacity dispatch, protocol 2.4)"
    return _with_broker(check)


def probe_sessions() -> Optional[str]:
    """Do the requests of one session key stick to one worker?"""
    def check(serve: Serve, context: zmq.Context, backend: str, client: Client) -> Optional[str]:
        workers = [_Worker(context, backend, name, [b"\x01"]) for name in (b"probe-a", b"probe-b")]
        deadline = time.monotonic() + 10
        while (serve.status() or {"broker": {"workers": 0}})["broker"]["workers"] < 2:
            _pump(workers, 0.1, answer=True)
            if time.monotonic() > deadline:
                return "probe workers did not register"
        for _ in range(3):
            client.session(b"probe-key")
            _pump(workers, 3, answer=True, until=lambda: client.socket.poll(0))
            client.receive(5)
        if sorted(len(worker.held) for worker in workers) == [0, 3]:
            return None
        return ("the broker does not keep a session on one worker (sessions: BATON-SESSION routing, "
                "docs/protocol.md section 1) on this build")
    return _with_broker(check)


def probe_handoff() -> Optional[str]:
    """Does a reload ask a worker that declares ``handoff`` to EXPORT its session?"""
    directory = tempfile.mkdtemp(prefix="bp-", dir="/tmp")
    command = [sys.executable, str(Path(__file__).with_name("probe_worker.py")), "--handoff"]
    serve = Serve(directory, 1, command)
    client = None
    reload = None
    try:
        serve.wait_ready(1)
        client = Client(serve.frontend)
        client.call(b"BATON-SESSION", b"probe-key", b"hi")
        reload = serve.background("reload", "--state-dir", serve.state_dir, "--ready-timeout", "10")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and reload.poll() is None:
            if "\nexport" in serve.output():
                return None
            time.sleep(0.1)
        if "\nexport" in serve.output():
            return None
        return ("the broker does not hand sessions over during a reload (EXPORT/IMPORT handoff, protocol 2.5) "
                "on this build")
    finally:
        if reload is not None and reload.poll() is None:
            reload.kill()
            reload.wait()
        if client is not None:
            client.close()
        serve.close()
        shutil.rmtree(directory, ignore_errors=True)


class BrokerFeatures:
    """The probes, each run at most once per test run."""

    def __init__(self) -> None:
        self._results: Dict[str, Optional[str]] = {}

    def missing(self, feature: str) -> Optional[str]:
        """Why ``feature`` ("capacity", "sessions" or "handoff") cannot be tested, or None."""
        if feature not in self._results:
            if feature == "handoff":
                reason = self.missing("sessions") or probe_handoff()
            else:
                reason = {"capacity": probe_capacity, "sessions": probe_sessions}[feature]()
            self._results[feature] = reason
        return self._results[feature]
