"""Sessions: state a worker keeps for a player, a room or a match between its requests (docs/protocol.md,
"Sessions" and 2.5)."""

from __future__ import annotations

from typing import Any, List


class Session:
    """One session's state and code. Subclass it and pass the class as ``Worker(sessions=…)``.

    Baton sends every request of a session key to the same worker, one at a time, in order. The worker
    creates the session with ``YourSession(key)`` on the key's first request, then calls :meth:`handle` for
    each request. Any of the methods below may be ``async def`` (they then run on the worker's asyncio loop);
    plain ones run on the worker's thread pool. The methods of one session never run concurrently.

    **Handoff.** Override both :meth:`export_state` and :meth:`import_state` and the worker declares the
    ``handoff`` capability: during ``baton reload`` each session's state moves to the new generation, so a
    room survives a hot update.
    """

    key: bytes
    """The session key the client sent (1…255 bytes)."""

    def __init__(self, key: bytes) -> None:
        """A new, empty session for ``key``."""
        self.key = key
        self._ended = False

    def handle(self, body: List[bytes]) -> Any:
        """Serves one request of this session: ``body`` is the request's frames after the key. Return the
        reply as for a request handler (frames, one bytes or str, or None for one empty frame)."""
        raise NotImplementedError(f"{type(self).__name__}.handle")

    def export_state(self) -> bytes:
        """This session's state as bytes, for a worker of the next generation. The session stays here
        until Baton says it moved (then :meth:`close` runs). Raise to keep the session on this worker."""
        raise NotImplementedError(f"{type(self).__name__}.export_state")

    @classmethod
    def import_state(cls, key: bytes, state: bytes) -> "Session":
        """A session rebuilt from what :meth:`export_state` returned (perhaps by older code). Raise to
        refuse it: the session then stays on the old worker."""
        raise NotImplementedError(f"{cls.__name__}.import_state")

    def close(self) -> None:
        """Called once when the session ends: it was idle too long, it moved to another worker, or
        :meth:`end` was called. Free what it holds here."""

    def end(self) -> None:
        """Ends this session after the reply to the request being handled: the key's next request opens a
        new session (perhaps on another worker)."""
        self._ended = True

    @property
    def ended(self) -> bool:
        """Whether :meth:`end` was called."""
        return getattr(self, "_ended", False)


def supports_handoff(factory: Any) -> bool:
    """Whether a session class overrides both :meth:`Session.export_state` and :meth:`Session.import_state`
    (or, not being a :class:`Session`, has both)."""
    export = getattr(factory, "export_state", None)
    restore = getattr(factory, "import_state", None)
    if export is None or restore is None:
        return False
    if isinstance(factory, type) and issubclass(factory, Session):
        return (factory.export_state is not Session.export_state
                and getattr(factory.import_state, "__func__", None)
                is not getattr(Session.import_state, "__func__", None))
    return True
