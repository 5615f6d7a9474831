"""Baton's Python worker SDK: serve requests from a Baton broker with plain or ``async def`` functions.

    import baton_worker

    def echo(body):
        return body

    raise SystemExit(baton_worker.Worker(echo, capacity=8).run())

See sdk/python/README.md for the API and docs/protocol.md for the wire protocol it speaks (version 2).
"""

from ._loop import ExitReason
from .session import Session
from .settings import Settings, SettingsError
from .worker import Worker

__all__ = ["Worker", "Session", "Settings", "SettingsError", "ExitReason"]
__version__ = "0.1.0"
