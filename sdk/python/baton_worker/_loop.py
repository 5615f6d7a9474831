"""The socket thread: the one thread that touches the worker's DEALER socket. It registers, heartbeats,
receives requests and session messages, hands them to the runners, sends their answers, and drains on stop.
It never runs application code except in inline mode, where it releases the socket to the heartbeat helper
for the duration of each call."""

from __future__ import annotations

import collections
import logging
import time
from typing import Any, Deque, Dict, List, Optional, Tuple

import zmq

from . import protocol
from ._connection import NOBLOCK, Connection
from ._jobs import CLOSE, EXPORT, IMPORT, REQUEST, Application, Job
from ._runners import AsyncRunner, InlineRunner, ThreadRunner
from ._wake import Wake
from .settings import Settings

log = logging.getLogger("baton_worker")

# Messages read per wake-up before timers are looked at again.
_RECEIVE_BATCH = 256
_EVENTS = int(zmq.EVENTS)
_POLLIN = int(zmq.POLLIN)


class ExitReason:
    """Why :meth:`Worker.run` returned; the names are stable, for logs and tests."""

    SIGNAL = "signal"
    """SIGTERM or SIGINT, after draining."""
    STOPPED = "stopped"
    """:meth:`Worker.stop` was called, after draining."""
    BROKER_LOST = "broker-lost"
    """A managed worker heard nothing from the broker for its liveness window: its supervisor is gone."""
    HANDLER_FAILED = "handler-failed"
    """``max_handler_errors`` handlers in a row raised (and no ``on_error`` answered for them): the worker gave
    back the requests it had not started, answered the others, and left."""


HANDLER_ERROR_TEXT = "the request's handler failed"
"""The text of a ``handler-error`` reply unless the worker reveals its errors."""
# Handler tracebacks logged per window, so a handler that fails on every request cannot flood the log.
_ERROR_LOG_BURST = 20
_ERROR_LOG_WINDOW = 10.0


class SocketLoop:
    """One run of a worker: created by :meth:`Worker.run`, used once."""

    def __init__(self, settings: Settings, app: Application, capacity: int, handoff: bool, inline: bool,
                 loop: Any = None, max_handler_errors: Optional[int] = None, reveal_errors: bool = False) -> None:
        self.settings = settings
        self.app = app
        self.capacity = capacity
        self.handoff = handoff
        capabilities = [protocol.HANDOFF] if handoff else []
        self._conn = Connection(settings, protocol.ready(capacity, capabilities))
        self._lock = self._conn.lock
        self._wake = Wake()
        self._sync: Any = None
        self._async: Optional[AsyncRunner] = None
        self._inline: Optional[InlineRunner] = None
        self._max_errors = max_handler_errors
        self._reveal_errors = reveal_errors
        self._errors_in_row = 0  # handler errors since the last request served well
        self._error_logs: Deque[float] = collections.deque(maxlen=_ERROR_LOG_BURST)
        self._errors_not_logged = 0
        # Requests submitted to a runner and not started yet, by token: only tracked when the worker may leave
        # after handler errors, so that it can give them back (RETURN). A runner takes a job out before it
        # starts it (dict.pop is atomic), so a job is either started or given back, never both.
        self._unstarted: Optional[Dict[bytes, Job]] = {} if max_handler_errors is not None else None
        claim = self._claim if self._unstarted is not None else None
        if app.any_sync:
            if inline:
                self._inline = InlineRunner(self._finished, self._lock, claim)
                self._sync = self._inline
            else:
                self._sync = ThreadRunner(capacity, self._wake.finished, claim)
        if app.any_async:
            self._async = AsyncRunner(self._wake.finished, loop, claim)
        self._epoch = 0
        self._running = 0  # jobs submitted and not finished
        self._held = 0  # requests received and not answered
        self._sessions: Dict[bytes, Any] = {}
        # A key is here while a job of it runs: its later jobs wait, each as (the token of a request, or b"" for
        # a hook; a function that makes the job).
        self._key_jobs: Dict[bytes, Deque[Tuple[bytes, Any]]] = {}
        self._last_heard = 0.0
        self._stop_signal = 0
        self._stop_requested = False
        self._stopping: Optional[float] = None  # the drain deadline
        self._leaving: Optional[float] = None  # after RETURN: how long to wait for the broker's answer
        self._return_answered = False
        self.exit_reason: Optional[str] = None
        self.exit_code = 0
        # Inline mode, stateless plain handler: requests are served straight from the receive loop.
        self._direct = app.call_plain if self._inline is not None else None

    @property
    def wake_fd(self) -> int:
        """The descriptor a signal handler may write to (``signal.set_wakeup_fd``)."""
        return self._wake.write_fd

    def signal_received(self, number: int) -> None:
        """Called from a signal handler: drain and stop."""
        self._stop_signal = number

    def request_stop(self) -> None:
        """Thread-safe: drain and stop."""
        self._stop_requested = True
        self._wake.wake()

    # The loop.

    def run(self) -> int:
        """Serves until stopped; returns the exit status (0, or 1 when the broker was lost or a handler
        failed)."""
        self._lock.acquire()
        try:
            self._connect()
            if self._inline is not None:
                self._conn.start_heartbeat_helper()
            return self._serve()
        finally:
            self._conn.close()
            self._lock.release()
            for runner in (self._sync, self._async):
                if runner is not None:
                    runner.close()
            self._conn.terminate()
            self._wake.close()

    def _serve(self) -> int:
        """The one serve loop. Each turn waits for the broker (and for finished jobs), handles what came, then
        looks at stop requests, the drain, heartbeats and the broker's liveness.

        In inline mode without ``async`` handlers nothing but the socket brings work, so a turn waits in a
        blocking receive, as lean as the classic lbbroker worker's (woken every tick for heartbeats, liveness
        and stop requests). Otherwise, and from the moment a stop begins (to drain and say goodbye), it polls
        the socket and the wake pipe."""
        window = self.settings.liveness_window
        tick = max(1, min(100, int(self.settings.heartbeat_interval * 250)))  # ms: a quarter interval, ≤ 0.1 s
        inline = self._inline
        lean = inline is not None and self._async is None
        results = self._wake.results
        wake = self._wake.read_fd
        poll = zmq.zmq_poll
        while True:
            socket = self._conn.socket
            assert socket is not None
            if lean:
                socket.setsockopt(zmq.RCVTIMEO, tick)  # only the blocking receive waits: the rest is NOBLOCK
            recv = socket.recv_multipart
            items = [(socket, _POLLIN), (wake, _POLLIN)]
            while True:
                if lean and self._stopping is None and not (self._stop_signal or self._stop_requested):
                    try:
                        frames: Optional[List[bytes]] = recv()
                    except zmq.Again:
                        frames = None
                    # After a message, what the broker sent during its handler may be unread: the liveness
                    # check waits for a tick in which nothing came.
                    served_here = frames is not None
                    if frames is not None:
                        self._last_heard = time.monotonic()
                        self._on_message(frames)
                else:
                    # Wake for the next heartbeat, the liveness deadline or the drain deadline. After a long
                    # inline handler these are past, so the poll only collects what arrived meanwhile.
                    until = min(self._conn.next_heartbeat, self._last_heard + window)
                    if self._stopping is not None:
                        until = min(until, self._stopping)
                        if self._leaving is not None and not self._return_answered:
                            until = min(until, self._leaving)
                    self._wake.sleeping = True  # from here a finished job writes to the wake pipe
                    timeout = 0 if results else max(0, int((until - time.monotonic()) * 1000) + 1)
                    events = poll(items, timeout)  # type: ignore[arg-type]  # a descriptor is a valid item
                    self._wake.sleeping = False
                    readable = False
                    for item, _ in events:
                        if item is socket:
                            readable = True
                        else:
                            self._wake.drain()
                    if results:
                        self._take_results()
                    # After a handler ran here, what the broker sent meanwhile is still unread: the liveness
                    # check waits for the next turn.
                    served_here = readable and self._receive(socket)
                if self._stop_signal and self._stopping is None:
                    self._begin_stop(ExitReason.SIGNAL, 0, f"stopping on signal {self._stop_signal}")
                if self._stop_requested and self._stopping is None:
                    self._begin_stop(ExitReason.STOPPED, 0, "stopping on request")
                if self._stopping is not None and self._running == 0:
                    self._receive(socket)  # a request that arrived meanwhile is served before leaving
                now = time.monotonic()
                if self._stopping is not None and (
                        (self._running == 0 and self._settled(now)) or now >= self._stopping):
                    if self._running:
                        log.warning("drain timeout: leaving with %d request(s) unanswered", self._held)
                    self._conn.goodbye()
                    return self.exit_code
                if now >= self._conn.next_heartbeat:
                    self._conn.heartbeat(now)
                if now - self._last_heard > window and not served_here:
                    if self._broker_silent():
                        return 1
                    break  # connected again: the new socket
                if inline is not None and inline.has_pending:
                    inline.run_pending()

    def _broker_silent(self) -> bool:
        """Nothing came from the broker for the liveness window. A managed worker's supervisor is gone: True
        (exit 1). An external worker connects again: False."""
        window = self.settings.liveness_window
        if self.settings.managed:
            log.error("broker silent for %.1f s: exiting", window)
            self.exit_reason = ExitReason.BROKER_LOST
            return True
        log.warning("broker silent for %.1f s: connecting again", window)
        self._epoch += 1  # answers of jobs started on the old connection are dropped
        self._sessions.clear()
        self._connect()
        return False

    def _connect(self) -> "zmq.Socket[bytes]":
        socket = self._conn.connect()
        self._last_heard = time.monotonic()
        log.info("worker ready: backend=%s capacity=%d%s", self.settings.backend, self.capacity,
                 " handoff" if self.handoff else "")
        return socket

    def _receive(self, socket: "zmq.Socket[bytes]") -> bool:
        """Reads what is waiting; True when it ran a handler on this thread (inline mode)."""
        recv, events = socket.recv_multipart, socket.getsockopt
        for _ in range(_RECEIVE_BATCH):
            try:
                frames = recv(NOBLOCK)
            except zmq.Again:
                return False
            self._last_heard = time.monotonic()
            if self._on_message(frames):
                return True  # the clock is looked at before reading on
            if self._inline is not None and self._held >= self.capacity:
                return False  # what else comes waits for the next turn, after the handler
            if not events(_EVENTS) & _POLLIN:  # type: ignore[operator]
                return False
        return False

    def _on_message(self, frames: List[bytes]) -> bool:
        """Handles one message; True when it served a request right here (inline mode)."""
        direct = self._direct
        if (direct is not None and len(frames) >= 3 and not frames[1] and len(frames[0]) > 1
                and (frames[2] != protocol.SESSION_MARKER or self.app.sessions is None)):
            self._serve_directly(direct, frames[0], frames[2:])
            return True
        message = protocol.parse(frames)
        if message is protocol.HEARTBEAT:
            return False
        if isinstance(message, protocol.Request):
            if self._leaving is not None:  # sent before the broker read our RETURN: give it back too
                self._conn.send(protocol.return_([message.token]))
                return False
            self._held += 1
            key = message.session
            if key is not None and self.app.sessions is not None:
                token, body, epoch = message.token, message.body, self._epoch
                self._for_key(key, lambda: self.app.session_request(token, key, body, self._sessions.get(key),
                                                                    epoch), token)
            else:
                self._submit(self.app.request(message.token, message.frames(), self._epoch))
        elif isinstance(message, protocol.Control):
            self._on_control(message)
        elif message is protocol.RETURN:
            self._return_answered = True  # every request sent to us came before this
        else:
            log.warning("unexpected message from the broker (%d frames)", len(frames))
        return False

    def _serve_directly(self, call: Any, token: bytes, body: List[bytes]) -> None:
        """Inline mode's fast path for a stateless request: the handler runs here, with the socket lock
        released so that the heartbeat thread may send meanwhile."""
        lock = self._lock
        self._held += 1
        self._running += 1
        lock.release()
        try:
            frames = call(body)
        except BaseException as error:  # noqa: B902 - answered handler-error, as on the runners' threads
            lock.acquire()
            self._running -= 1
            self._held -= 1
            self._handler_failed(token, error)
            return
        lock.acquire()
        self._running -= 1
        self._held -= 1
        self._errors_in_row = 0
        self._conn.send_reply(token, frames)

    def _on_control(self, message: protocol.Control) -> None:
        key, epoch = message.key, self._epoch
        if message.kind == protocol.END:
            if key in self._sessions or key in self._key_jobs:
                self._for_key(key, lambda: self._close_job(key))
        elif message.kind == protocol.EXPORT:
            if not self.handoff:
                self._conn.send(protocol.export_error(key, "this worker does not export sessions"))
            else:
                self._for_key(key, lambda: self._export_job(key))
        elif not self.handoff:
            self._conn.send(protocol.import_error(key, "this worker does not import sessions"))
        else:
            state = message.state
            self._for_key(key, lambda: self.app.import_(key, state, epoch))

    def _close_job(self, key: bytes) -> Optional[Job]:
        session = self._sessions.pop(key, None)
        return None if session is None else self.app.close(key, session, self._epoch)

    def _export_job(self, key: bytes) -> Optional[Job]:
        session = self._sessions.get(key)
        if session is None:
            self._conn.send(protocol.export_error(key, "no such session"))
            return None
        return self.app.export(key, session, self._epoch)

    # Jobs.

    def _for_key(self, key: bytes, build: Any, token: bytes = b"") -> None:
        """Runs the job ``build()`` makes once every earlier job of ``key`` has finished (``token``: the
        request's, for a request)."""
        queue = self._key_jobs.get(key)
        if queue is not None:
            queue.append((token, build))
            return
        self._key_jobs[key] = collections.deque(((token, build),))
        self._next_of_key(key)

    def _next_of_key(self, key: bytes) -> None:
        queue = self._key_jobs[key]
        while queue:
            job = queue.popleft()[1]()
            if job is not None:
                self._submit(job)
                return
        del self._key_jobs[key]

    def _submit(self, job: Job) -> None:
        self._running += 1
        if self._unstarted is not None and job.kind == REQUEST:
            self._unstarted[job.token] = job
        runner = self._async if job.is_async else self._sync
        assert runner is not None
        runner.submit(job)

    def _claim(self, job: Job) -> bool:
        """On the thread about to run ``job``: False when the socket thread gave it back (RETURN)."""
        unstarted = self._unstarted
        return job.kind != REQUEST or unstarted is None or unstarted.pop(job.token, None) is not None

    def _take_results(self) -> None:
        results = self._wake.results
        while results:
            self._finished(*results.popleft())

    def _finished(self, job: Job, ok: bool, value: Any) -> None:
        """On the socket thread: answer for a finished job."""
        self._running -= 1
        current = job.epoch == self._epoch
        if job.kind == REQUEST:
            self._held -= 1
            if not current:
                pass
            elif not ok:
                self._handler_failed(job.token, value)
            elif job.key is None:
                self._errors_in_row = 0
                self._conn.send_reply(job.token, value)
            else:
                self._errors_in_row = 0
                session, frames = value
                if getattr(session, "ended", False):
                    self._conn.send(protocol.end(job.key))  # before the reply: Baton forgets the key after it
                    self._sessions.pop(job.key, None)
                    self._key_jobs[job.key].appendleft(
                        (b"", lambda: self.app.close(job.key, session, self._epoch)))
                else:
                    self._sessions[job.key] = session
                self._conn.send_reply(job.token, frames)
        elif not current or job.key is None:
            pass
        elif job.kind == EXPORT:
            self._conn.send(protocol.export_ok(job.key, value) if ok else
                       protocol.export_error(job.key, _describe(value)))
            if not ok:
                log.warning("export of session %r failed: %s", job.key, _describe(value))
        elif job.kind == IMPORT:
            if ok:
                self._sessions[job.key] = value
                self._conn.send(protocol.import_ok(job.key))
            else:
                log.warning("import of session %r failed: %s", job.key, _describe(value))
                self._conn.send(protocol.import_error(job.key, _describe(value)))
        elif job.kind == CLOSE and not ok:
            log.warning("close of session %r failed: %s", job.key, _describe(value))
        if job.key is not None and job.key in self._key_jobs:
            self._next_of_key(job.key)

    def _handler_failed(self, token: bytes, error: BaseException) -> None:
        """A request's handler raised: that request, and only it, is answered ``handler-error``. After
        ``max_handler_errors`` in a row the worker leaves."""
        self._errors_in_row += 1
        self._log_handler_error(error)
        text = _describe(error) if self._reveal_errors else HANDLER_ERROR_TEXT
        self._conn.send_reply(token, protocol.handler_error(text))
        if self._max_errors is not None and self._errors_in_row >= self._max_errors and self._leaving is None:
            self._leave()

    def _log_handler_error(self, error: BaseException) -> None:
        """The traceback, at most ``_ERROR_LOG_BURST`` per ``_ERROR_LOG_WINDOW`` seconds."""
        now = time.monotonic()
        logs = self._error_logs
        if len(logs) == logs.maxlen and now - logs[0] < _ERROR_LOG_WINDOW:
            self._errors_not_logged += 1
            return
        logs.append(now)
        if self._errors_not_logged:
            log.error("%d more handler errors were not logged", self._errors_not_logged)
            self._errors_not_logged = 0
        log.error("handler failed; the request is answered handler-error",
                  exc_info=(type(error), error, error.__traceback__))

    def _leave(self) -> None:
        """Too many handler errors in a row: take no new request, give back (RETURN) every request held and
        not started, answer the ones running, and leave once the broker has answered the RETURN (so no
        request it sent is still on its way) or its liveness window has passed (a broker without RETURN)."""
        self._begin_stop(ExitReason.HANDLER_FAILED, 1,
                         f"leaving after {self._errors_in_row} handler errors in a row")
        self._leaving = time.monotonic() + self.settings.liveness_window
        self._direct = None
        tokens: List[bytes] = []
        for queue in self._key_jobs.values():  # session requests waiting behind their key's running job
            waiting = [token for token, _ in queue if token]
            if waiting:
                tokens += waiting
                self._held -= len(waiting)
                kept = [entry for entry in queue if not entry[0]]
                queue.clear()
                queue.extend(kept)
        unstarted = self._unstarted
        if unstarted is not None:
            for token, job in list(unstarted.items()):
                if unstarted.pop(token, None) is None:
                    continue  # a runner started it meanwhile
                tokens.append(token)
                self._running -= 1
                self._held -= 1
                if job.key is not None and job.key in self._key_jobs:
                    self._next_of_key(job.key)  # only hooks are left to run
        log.warning("giving back %d request(s) not started", len(tokens))
        self._conn.send(protocol.return_(tokens))

    def _settled(self, now: float) -> bool:
        """Whether nothing the broker sent can still be on its way: always, unless the worker said RETURN and
        the broker has not answered it yet (for at most the liveness window)."""
        return self._leaving is None or self._return_answered or now >= self._leaving

    def _begin_stop(self, reason: str, code: int, text: str) -> None:
        log.info("%s (holding %d request(s))", text, self._held)
        self.exit_reason = reason
        self.exit_code = code
        if self._stopping is None:
            self._stopping = time.monotonic() + self.settings.drain_timeout


def _describe(error: Any) -> str:
    return f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else str(error)
