"""The worker a game developer writes: a handler, a capacity, sessions, and one call to run."""

from __future__ import annotations

import asyncio
import signal
import threading
from typing import Any, Callable, Mapping, Optional, TypeVar

from . import protocol
from ._jobs import Application, ErrorHandler, session_factory_problem
from ._loop import ExitReason, SocketLoop
from .session import supports_handoff
from .settings import Settings

Handler = TypeVar("Handler", bound=Callable[..., Any])


class Worker:
    """A Baton worker: connects to the broker, serves requests with your code, heartbeats, drains on SIGTERM.

    ``handler(body)`` gets a request's frames (a list of bytes) and returns the reply: a list of frames
    (bytes or str), one bytes or str frame, or None for one empty frame. A plain function runs on a pool of
    ``capacity`` threads (for capacity 1, on the socket thread while a helper thread heartbeats); an
    ``async def`` handler runs on an asyncio loop. Either way the broker hears heartbeats while it runs.

    ``sessions``: a :class:`~baton_worker.Session` subclass (or any callable taking the key) for requests
    that carry a session key. ``capacity``: how many requests the worker serves at once (1…1000).

    A handler that raises fails its own request only: the worker logs the traceback (at most 20 a 10 s),
    answers that request ``["BATON-ERR"]["handler-error"][text]`` and keeps serving. ``text`` says only that
    the handler failed, unless ``reveal_errors=True`` puts the exception's type and message in it.
    ``on_error(error, body)`` replaces that answer with a reply of your own (it counts as served).

    ``max_handler_errors=N`` (off by default): after N handler errors in a row (no request served well between
    them) the worker leaves: it gives every request it holds but has not started back to Baton, which serves
    it elsewhere (RETURN, docs/protocol.md 2.3), answers the ones running, says DISCONNECT and returns 1, so
    that Baton starts a fresh process.

    Settings come from Baton's environment (:meth:`Settings.from_environment`); ``settings`` replaces it, and
    keyword overrides (``backend=…``, ``worker_id=…``, ``heartbeat_interval=…``, ``drain_timeout=…``,
    ``server_key=…``, …) win over either, for workers started by hand or on another host.
    """

    def __init__(self, handler: Optional[Callable[..., Any]] = None, *, sessions: Any = None, capacity: int = 1,
                 on_error: Optional[ErrorHandler] = None, max_handler_errors: Optional[int] = None,
                 reveal_errors: bool = False, handoff: Optional[bool] = None,
                 inline: Optional[bool] = None, settings: Optional[Settings] = None,
                 environ: Optional[Mapping[str, str]] = None, **overrides: Any) -> None:
        if not 1 <= capacity <= protocol.MAX_CAPACITY:
            raise ValueError(f"capacity must be 1…{protocol.MAX_CAPACITY}, not {capacity}")
        if max_handler_errors is not None and max_handler_errors < 1:
            raise ValueError(f"max_handler_errors must be at least 1 (or None: never leave), not {max_handler_errors}")
        if sessions is not None:
            problem = session_factory_problem(sessions)
            if problem:
                raise TypeError(problem)
        if inline and capacity > 1:
            raise ValueError("inline serves one request at a time: it needs capacity 1")
        if handoff and (sessions is None or not supports_handoff(sessions)):
            raise TypeError("handoff needs a sessions class with export_state and import_state")
        self.handler = handler
        self.sessions = sessions
        self.capacity = capacity
        self.on_error = on_error
        self.max_handler_errors = max_handler_errors
        self.reveal_errors = reveal_errors
        self.handoff = supports_handoff(sessions) if handoff is None and sessions is not None else bool(handoff)
        self._inline = inline
        self._settings = settings
        self._environ = environ
        self._overrides = overrides
        self._loop: Optional[SocketLoop] = None
        self._stop_early = False
        self.exit_reason: Optional[str] = None
        """Why the last :meth:`run` returned: one of the :class:`ExitReason` names."""

    def request(self, handler: Handler) -> Handler:
        """Decorator form: ``@worker.request`` sets the request handler."""
        self.handler = handler
        return handler

    @property
    def settings(self) -> Settings:
        """The settings :meth:`run` uses: the environment's, with the overrides."""
        if self._settings is not None:
            return self._settings.with_overrides(**self._overrides) if self._overrides else self._settings
        return Settings.from_environment(self._environ, **self._overrides)

    def run(self) -> int:
        """Serves until SIGTERM or SIGINT (handled when called on the main thread), :meth:`stop`, a lost
        broker (a managed worker) or ``max_handler_errors`` handler errors in a row. Returns the exit status
        for ``sys.exit``: 0 after a drain, 1 when the broker was lost or the worker left after handler errors."""
        return self._run(None)

    async def serve(self) -> int:
        """Like :meth:`run`, from asyncio code: ``async def`` handlers run on the calling loop and the socket
        on a thread of its own. SIGTERM and SIGINT stop it when the loop runs on the main thread."""
        loop = asyncio.get_running_loop()
        installed = []
        for number in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(number, self._signal, number)
                installed.append(number)
            except (NotImplementedError, RuntimeError, ValueError):
                break
        try:
            future: "asyncio.Future[int]" = loop.create_future()

            def serve() -> None:
                try:
                    status = self._run(loop, signals=False)
                except BaseException as error:  # noqa: B902
                    loop.call_soon_threadsafe(future.set_exception, error)
                else:
                    loop.call_soon_threadsafe(future.set_result, status)

            threading.Thread(target=serve, name="baton-socket", daemon=True).start()
            return await future
        finally:
            for number in installed:
                loop.remove_signal_handler(number)

    def stop(self) -> None:
        """Thread-safe: finish what is held, say DISCONNECT, and return from :meth:`run`."""
        loop = self._loop
        if loop is None:
            self._stop_early = True
        else:
            loop.request_stop()

    def _signal(self, number: int) -> None:
        loop = self._loop
        if loop is None:
            self._stop_early = True
        else:
            loop.signal_received(number)
            loop.request_stop()

    def _run(self, asyncio_loop: Any, signals: bool = True) -> int:
        if self.handler is None and self.sessions is None:
            raise TypeError("a worker needs a request handler or a sessions class")
        app = Application(self.handler, self.sessions, self.on_error)
        inline = self._inline
        if inline is None:
            inline = self.capacity == 1 and not app.any_async
        loop = SocketLoop(self.settings, app, self.capacity, self.handoff, inline, asyncio_loop,
                          self.max_handler_errors, self.reveal_errors)
        self._loop = loop
        if self._stop_early:  # stop() or a signal came before the loop existed
            self._stop_early = False
            loop.request_stop()
        restore = _install_signals(loop) if signals else None
        try:
            return loop.run()
        finally:
            if restore is not None:
                restore()
            self.exit_reason = loop.exit_reason
            self._loop = None


def _install_signals(loop: SocketLoop) -> Optional[Callable[[], None]]:
    """SIGTERM and SIGINT drain the worker; a no-op off the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handle(number: int, frame: Any) -> None:
        loop.signal_received(number)

    previous = {number: signal.signal(number, handle) for number in (signal.SIGTERM, signal.SIGINT)}
    previous_fd = signal.set_wakeup_fd(loop.wake_fd, warn_on_full_buffer=False)

    def restore() -> None:
        signal.set_wakeup_fd(previous_fd)
        for number, handler in previous.items():
            signal.signal(number, handler)

    return restore


__all__ = ["Worker", "ExitReason"]
