"""A real ``baton serve`` for the live tests: started in a short temporary directory with ipc endpoints (or
tcp on 127.0.0.1 with ephemeral ports), watched through ``baton status --json`` with deadlines, and always
killed at the end (its workers die with it: parent-death signal)."""

from __future__ import annotations

import ctypes
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import pytest
import zmq

REPO = Path(__file__).resolve().parents[3]
SDK = REPO / "sdk" / "python"
EXAMPLES = SDK / "examples"


def baton_binary() -> str:
    """``$BATON_BIN``, else the debug build ``swift build`` makes (``.build/debug/baton``)."""
    path = os.environ.get("BATON_BIN") or str(REPO / ".build" / "debug" / "baton")
    if not os.access(path, os.X_OK):
        pytest.fail(f"no baton binary at {path}: run `swift build` first, or set BATON_BIN")
    return path


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the test process dies (even when the watchdog ends a stuck
    run), so no supervisor outlives its test; its workers go with it."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def example(name: str, *arguments: str) -> List[str]:
    """The command line of an example worker, run by this Python."""
    return [sys.executable, str(EXAMPLES / name), *arguments]


class Serve:
    """``baton serve`` with managed workers, in ``directory``."""

    def __init__(self, directory: str, workers: int, command: Sequence[str] = (), options: Sequence[str] = (),
                 frontend: Optional[str] = None, backend: Optional[str] = None, heartbeat_ms: int = 200) -> None:
        self.directory = directory
        self.state_dir = f"{directory}/state"
        self.frontend = frontend or f"ipc://{directory}/fe"
        self.baton = baton_binary()
        arguments = [self.baton, "serve", "--frontend", self.frontend, "--state-dir", self.state_dir,
                     "--workers", str(workers), "--heartbeat-interval", str(heartbeat_ms), *options]
        if "--heartbeat-liveness" not in options:
            # 2 s: a shared two-core machine under load can stall processes for several hundred ms.
            arguments += ["--heartbeat-liveness", "10"]
        if backend:
            arguments += ["--backend", backend]
        if command:
            arguments += ["--", *command]
        environ = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(SDK), os.environ.get("PYTHONPATH")])),
                       PYTHONUNBUFFERED="1")
        self.output_path = f"{directory}/serve.out"
        self._output = open(self.output_path, "wb")
        self.process = subprocess.Popen(arguments, stdout=self._output, stderr=subprocess.STDOUT, env=environ,
                                        cwd=directory, start_new_session=True, preexec_fn=_die_with_parent)

    # Watching it.

    def output(self) -> str:
        """What the supervisor printed, and what its workers wrote to their logs."""
        text = Path(self.output_path).read_text(errors="replace")
        logs = Path(self.state_dir) / "logs"
        if logs.is_dir():
            for log in sorted(logs.glob("slot-*.log*")):
                text += f"\n--- {log.name}\n" + log.read_text(errors="replace")[-6000:]
        return text

    def status(self) -> Optional[dict]:
        """``baton status --json``, or None while it does not answer."""
        result = self.command("status", "--json", "--timeout", "2", timeout=10)
        if result.returncode not in (0, 1):
            return None
        try:
            return json.loads(result.stdout)
        except ValueError:
            return None

    def wait(self, what: str, condition: Callable[[dict], bool], timeout: float = 30) -> dict:
        """Polls the status until ``condition`` holds; fails the test with the last status and the logs."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"baton serve exited ({self.process.returncode}):\n{self.output()}"
            last = self.status()
            if last is not None and condition(last):
                return last
            time.sleep(0.05)
        pytest.fail(f"timed out waiting until {what}; last status: {json.dumps(last)}\n{self.output()}")

    def wait_ready(self, workers: int, generation: Optional[int] = None, timeout: float = 30) -> dict:
        """Waits until every slot is ready (in ``generation``, if given) and the broker has ``workers``."""
        def ready(status: dict) -> bool:
            slots = status["slots"]
            return (all(slot["state"] == "ready" for slot in slots) and status["broker"]["workers"] == workers
                    and (generation is None or all(slot["generation"] == generation for slot in slots)))
        return self.wait(f"{workers} workers are ready", ready, timeout)

    def endpoints(self, timeout: float = 15) -> Dict[str, str]:
        """The frontend and backend the supervisor logged as bound (real ports for ``tcp://…:*``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in Path(self.output_path).read_text(errors="replace").splitlines():
                if line.endswith(" serving"):
                    return dict(re.findall(r" (frontend|backend)=(\S+)", line))
            assert self.process.poll() is None, f"baton serve exited:\n{self.output()}"
            time.sleep(0.05)
        pytest.fail(f"baton serve did not say serving:\n{self.output()}")

    # Driving it.

    def command(self, *arguments: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """A ``baton`` subcommand against this supervisor (``--state-dir`` added where it applies)."""
        arguments_list = list(arguments)
        if arguments_list[0] in ("status", "reload", "stop", "workers", "history", "generations", "sessions"):
            arguments_list[1:1] = ["--state-dir", self.state_dir]
        elif arguments_list[0] in ("call", "bench") and "--frontend" not in arguments_list:
            arguments_list[1:1] = ["--frontend", self.frontend]
        return subprocess.run([self.baton, *arguments_list], capture_output=True, text=True, timeout=timeout,
                              cwd=self.directory)

    def background(self, *arguments: str) -> subprocess.Popen:
        """A ``baton`` subcommand running beside the test (``bench`` under a reload, say)."""
        arguments_list = list(arguments)
        if arguments_list[0] in ("call", "bench") and "--frontend" not in arguments_list:
            arguments_list[1:1] = ["--frontend", self.frontend]
        return subprocess.Popen([self.baton, *arguments_list], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, cwd=self.directory)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, and the exit status once it has exited."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"baton serve did not stop within {timeout} s:\n{self.output()}")

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(10)
        self._output.close()


def bench_report(output: str) -> Dict[str, float]:
    """The ``key=value`` numbers of a ``baton bench`` report."""
    return {key: float(value) for key, value in re.findall(r"(\w+)=([\d.]+)", output)}


class Client:
    """A DEALER client that tags each request, so many can be in flight: the frame tables of
    docs/protocol.md section 1, as a game client would use them."""

    def __init__(self, frontend: str, server_key: Optional[bytes] = None) -> None:
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        if server_key is not None:
            public, secret = zmq.curve_keypair()
            self.socket.setsockopt(zmq.CURVE_SERVERKEY, server_key)
            self.socket.setsockopt(zmq.CURVE_PUBLICKEY, public)
            self.socket.setsockopt(zmq.CURVE_SECRETKEY, secret)
        self.socket.connect(frontend)
        self._tag = 0

    def send(self, *body: bytes) -> bytes:
        """Sends a request; returns its tag."""
        self._tag += 1
        tag = self._tag.to_bytes(8, "big")
        self.socket.send_multipart([tag, b"", *body])
        return tag

    def session(self, key: bytes, *body: bytes) -> bytes:
        return self.send(b"BATON-SESSION", key, *(body or (b"hi",)))

    def receive(self, timeout: float = 10) -> tuple:
        """The next reply: ``(tag, body)``; fails the test after ``timeout`` seconds."""
        if not self.socket.poll(int(timeout * 1000)):
            pytest.fail(f"no reply within {timeout} s")
        frames = self.socket.recv_multipart()
        assert frames[1] == b"", frames
        return frames[0], frames[2:]

    def call(self, *body: bytes, timeout: float = 10) -> List[bytes]:
        tag = self.send(*body)
        got, reply = self.receive(timeout)
        assert got == tag
        return reply

    def close(self) -> None:
        self.socket.close(linger=0)
        self.context.term()


class Load(threading.Thread):
    """Load beside a test: ``window`` echo requests in flight over one DEALER socket, or, with ``keys``, one
    request in flight per session key. Every reply is checked: echoes against their request, session replies
    against the key's previous count. :meth:`finish` stops sending and waits for the outstanding replies."""

    def __init__(self, frontend: str, window: int = 16, keys: Sequence[bytes] = (),
                 server_key: Optional[bytes] = None) -> None:
        super().__init__(daemon=True)
        self.frontend = frontend
        self.window = window
        self.keys = list(keys)
        self.server_key = server_key
        self.sent = 0
        self.matched = 0
        self.errors: List[List[bytes]] = []
        self.wrong: List[str] = []
        self.counts: Dict[bytes, List[int]] = {key: [] for key in self.keys}
        self._halt = threading.Event()
        self.outstanding = 0
        self.failure: Optional[BaseException] = None

    def replies_per_key(self) -> int:
        """The fewest replies any key has had."""
        return min((len(counts) for counts in self.counts.values()), default=0)

    def run(self) -> None:
        try:
            self._run()
        except BaseException as error:  # noqa: B902 - reported by finish()
            self.failure = error

    def _run(self) -> None:
        client = Client(self.frontend, self.server_key)
        pending: Dict[bytes, tuple] = {}
        try:
            def send_next(key: Optional[bytes]) -> None:
                self.sent += 1
                if key is None:
                    body = [b"load-%d" % self.sent, b"x" * 32]
                    pending[client.send(*body)] = (None, body)
                else:
                    pending[client.session(key, b"load")] = (key, None)

            for key in self.keys or [None] * self.window:
                send_next(key)
            quiet_deadline = None
            while pending:
                if self._halt.is_set() and quiet_deadline is None:
                    quiet_deadline = time.monotonic() + 20
                if quiet_deadline is not None and time.monotonic() > quiet_deadline:
                    break
                self.outstanding = len(pending)
                if not client.socket.poll(100):
                    continue
                frames = client.socket.recv_multipart()
                tag, reply = frames[0], frames[2:]
                key, body = pending.pop(tag)
                if reply[:1] == [b"BATON-ERR"]:
                    self.errors.append(reply)
                elif key is None:
                    if reply == body:
                        self.matched += 1
                    else:
                        self.wrong.append(f"{body!r} -> {reply!r}")
                else:
                    self._count(key, reply)
                if not self._halt.is_set():
                    send_next(key)
            self.outstanding = len(pending)
        finally:
            client.close()

    def _count(self, key: bytes, reply: List[bytes]) -> None:
        counts = self.counts[key]
        try:
            count = int(reply[0])
        except (ValueError, IndexError):
            self.wrong.append(f"{key!r}: {reply!r}")
            return
        expected = (counts[-1] + 1) if counts else 1
        if count != expected:
            self.wrong.append(f"{key!r}: {count} after {counts[-3:]}")
        counts.append(count)
        self.matched += 1

    def finish(self, timeout: float = 30) -> None:
        """Stops sending; returns once every outstanding reply is in (or fails after ``timeout``)."""
        self._halt.set()
        self.join(timeout)
        assert not self.is_alive(), "the load did not finish"
        if self.failure is not None:
            raise self.failure
        assert self.outstanding == 0, f"{self.outstanding} replies never came"


def wait_until(what: str, condition: Callable[[], bool], timeout: float = 30, output: Callable[[], str] = str) -> None:
    """Polls ``condition`` until it holds; fails the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting until {what}\n{output()}")
        time.sleep(0.02)
