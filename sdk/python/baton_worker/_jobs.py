"""Jobs: one call into the application (a request, or a session's export, import or close), built on the
socket thread and run by a runner. A job's ``call()`` returns its value, or a coroutine for async code."""

from __future__ import annotations

import inspect
from typing import Any, Callable, List, Optional

from .session import Session

REQUEST, EXPORT, IMPORT, CLOSE = "request", "export", "import", "close"

ErrorHandler = Callable[[BaseException, List[bytes]], Any]


def is_async(function: Any) -> bool:
    """Whether calling ``function`` returns a coroutine (an ``async def`` function, method or callable)."""
    if inspect.iscoroutinefunction(function):
        return True
    method = getattr(type(function), "__call__", None)  # noqa: B004 - an object whose __call__ is async def
    return inspect.iscoroutinefunction(method)


def reply_frames(value: Any) -> List[bytes]:
    """A handler's return value as reply frames: a list or tuple of frames (bytes-like or str), one bytes-like
    or str frame, or None for one empty frame."""
    if type(value) is list and value:  # the common case, checked without building a new list
        for frame in value:
            if type(frame) is not bytes:
                break
        else:
            return value
    if value is None:
        return [b""]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return [value]  # type: ignore[list-item]
    if isinstance(value, str):
        return [value.encode()]
    if isinstance(value, (list, tuple)):
        frames = [frame.encode() if isinstance(frame, str) else frame for frame in value]
        for frame in frames:
            if not isinstance(frame, (bytes, bytearray, memoryview)):
                raise TypeError(f"a reply frame must be bytes or str, not {type(frame).__name__}")
        return frames if frames else [b""]
    raise TypeError(f"a handler must return frames, bytes, str or None, not {type(value).__name__}")


def state_bytes(value: Any) -> bytes:
    """What ``export_state`` returned, as one frame."""
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"export_state must return bytes or str, not {type(value).__name__}")


class Job:
    """One call into the application, with what the socket thread needs to answer for it."""

    __slots__ = ("kind", "token", "key", "call", "is_async", "epoch")

    def __init__(self, kind: str, call: Callable[[], Any], is_async: bool, token: bytes = b"",
                 key: Optional[bytes] = None, epoch: int = 0) -> None:
        self.kind = kind
        self.call = call
        self.is_async = is_async
        self.token = token
        self.key = key
        self.epoch = epoch


class Application:
    """The code a worker serves: a request handler, a session class, an error handler."""

    def __init__(self, handler: Optional[Callable[..., Any]], sessions: Any,
                 on_error: Optional[ErrorHandler]) -> None:
        self.handler = handler
        self.sessions = sessions
        self.on_error = on_error
        self.handler_async = handler is not None and is_async(handler)
        self.handle_async = sessions is not None and is_async(getattr(sessions, "handle", None))
        self.export_async = sessions is not None and is_async(getattr(sessions, "export_state", None))
        self.import_async = sessions is not None and is_async(getattr(sessions, "import_state", None))
        self.close_async = sessions is not None and is_async(getattr(sessions, "close", None))
        self.call_plain = self.plain_caller()
        """``plain_caller()``, made once."""

    @property
    def any_async(self) -> bool:
        """Whether some of the code is ``async def``."""
        return self.handler_async or self.handle_async or self.export_async or self.import_async or self.close_async

    @property
    def any_sync(self) -> bool:
        """Whether some of the code is plain functions."""
        return ((self.handler is not None and not self.handler_async)
                or (self.sessions is not None
                    and not (self.handle_async and self.export_async and self.import_async and self.close_async)))

    def plain_caller(self) -> Optional[Callable[[List[bytes]], List[bytes]]]:
        """For a plain (not async) request handler: a function from a request's body to its reply frames,
        with ``on_error`` applied (raises when it does not answer). None for an async handler or none."""
        handler, on_error = self.handler, self.on_error
        if handler is None or self.handler_async:
            return None
        if on_error is None:
            return lambda body: reply_frames(handler(body))

        def call(body: List[bytes]) -> List[bytes]:
            try:
                return reply_frames(handler(body))
            except Exception as error:
                return reply_frames(on_error(error, body))
        return call

    def request(self, token: bytes, body: List[bytes], epoch: int) -> Job:
        """A stateless request."""
        handler, on_error = self.handler, self.on_error
        if handler is None:
            def missing() -> Any:
                raise LookupError("this worker serves only session requests (no request handler)")
            return Job(REQUEST, missing, False, token, epoch=epoch)
        if self.handler_async:
            async def call_async() -> Any:
                try:
                    return reply_frames(await handler(body))
                except Exception as error:
                    if on_error is None:
                        raise
                    return reply_frames(on_error(error, body))
            return Job(REQUEST, call_async, True, token, epoch=epoch)
        caller = self.call_plain
        assert caller is not None
        return Job(REQUEST, lambda: caller(body), False, token, epoch=epoch)

    def session_request(self, token: bytes, key: bytes, body: List[bytes], session: Any, epoch: int) -> Job:
        """A request of session ``key`` (``session``: its state, None on its first request). The value is
        ``(session, frames)``; the socket thread closes a session that ended."""
        factory, on_error = self.sessions, self.on_error

        def fail(error: Exception) -> List[bytes]:
            if on_error is None:
                raise error
            return reply_frames(on_error(error, body))

        if self.handle_async:
            async def call_async() -> Any:
                current = session if session is not None else factory(key)
                try:
                    frames = reply_frames(await current.handle(body))
                except Exception as error:
                    frames = fail(error)
                return current, frames
            return Job(REQUEST, call_async, True, token, key, epoch)

        def call() -> Any:
            current = session if session is not None else factory(key)
            try:
                frames = reply_frames(current.handle(body))
            except Exception as error:
                frames = fail(error)
            return current, frames
        return Job(REQUEST, call, False, token, key, epoch)

    def export(self, key: bytes, session: Any, epoch: int) -> Job:
        """EXPORT of ``key``: the value is the state."""
        if self.export_async:
            async def call_async() -> bytes:
                return state_bytes(await session.export_state())
            return Job(EXPORT, call_async, True, key=key, epoch=epoch)
        return Job(EXPORT, lambda: state_bytes(session.export_state()), False, key=key, epoch=epoch)

    def import_(self, key: bytes, state: bytes, epoch: int) -> Job:
        """IMPORT of ``key``: the value is the new session."""
        factory = self.sessions
        if self.import_async:
            async def call_async() -> Any:
                return await factory.import_state(key, state)
            return Job(IMPORT, call_async, True, key=key, epoch=epoch)
        return Job(IMPORT, lambda: factory.import_state(key, state), False, key=key, epoch=epoch)

    def close(self, key: bytes, session: Any, epoch: int) -> Job:
        """The end of ``key``: calls its ``close()``."""
        if self.close_async:
            async def call_async() -> None:
                await session.close()
            return Job(CLOSE, call_async, True, key=key, epoch=epoch)
        return Job(CLOSE, lambda: _close_sync(session), False, key=key, epoch=epoch)


def _close_sync(session: Any) -> None:
    close = getattr(session, "close", None)
    if close is not None:
        close()


def session_factory_problem(sessions: Any) -> Optional[str]:
    """Why ``sessions`` cannot make sessions, or None."""
    if not callable(sessions):
        return "sessions must be a class (or a callable taking the key)"
    if isinstance(sessions, type) and issubclass(sessions, Session) and sessions.handle is Session.handle:
        return f"{sessions.__name__} must define handle()"
    return None

