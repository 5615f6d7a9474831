"""Where a worker connects and how it heartbeats: Baton's environment contract (docs/workers.md), with
overrides for workers started by hand or on another host."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any, Dict, Mapping, Optional


class SettingsError(ValueError):
    """The environment or an override does not make a usable worker configuration."""


def _positive(environ: Mapping[str, str], *names: str) -> Optional[int]:
    for name in names:
        text = environ.get(name)
        if text:
            try:
                value = int(text)
            except ValueError:
                raise SettingsError(f"{name} is not a whole number: {text!r}") from None
            if value > 0:
                return value
    return None


@dataclass(frozen=True)
class Settings:
    """Everything the worker needs to find and keep its broker.

    A managed worker (started by ``baton serve``) gets all of it from the environment; an external worker
    passes at least ``backend``. Build one with :meth:`from_environment`.
    """

    backend: str
    """The broker's backend endpoint (``BATON_BACKEND``)."""
    worker_id: Optional[bytes] = None
    """The ZeroMQ routing id (``BATON_WORKER_ID``); None lets libzmq pick one."""
    slot: Optional[int] = None
    """The pool slot of a managed worker (``BATON_SLOT``)."""
    generation: Optional[int] = None
    """The generation of the code (``BATON_GENERATION``)."""
    heartbeat_interval: float = 1.0
    """Seconds between heartbeats (``BATON_HEARTBEAT_INTERVAL_MS`` / 1000)."""
    heartbeat_liveness: int = 3
    """Intervals of silence after which either side counts the other as gone (``BATON_HEARTBEAT_LIVENESS``)."""
    drain_timeout: float = 4.0
    """Seconds a stopping worker waits for what it holds; keep it under ``baton serve --stop-grace`` (5 s)."""
    server_key: Optional[bytes] = None
    """The broker's CURVE public key, Z85 (``BATON_SERVER_KEY``); None: no CURVE."""
    public_key: Optional[bytes] = field(default=None, repr=False)
    """This worker's CURVE public key, Z85 (``BATON_CLIENT_PUBLIC_KEY``)."""
    secret_key: Optional[bytes] = field(default=None, repr=False)
    """This worker's CURVE secret key, Z85 (``BATON_CLIENT_SECRET_KEY``)."""

    managed: bool = False
    """Whether a supervisor started this worker (it set ``BATON_WORKER_ID``): a managed worker exits when
    the broker falls silent (its supervisor is gone); an external one connects again."""

    @property
    def liveness_window(self) -> float:
        """Seconds of silence after which the broker counts as gone."""
        return self.heartbeat_interval * self.heartbeat_liveness

    @classmethod
    def from_environment(cls, environ: Optional[Mapping[str, str]] = None, **overrides: object) -> "Settings":
        """Reads the contract from ``environ`` (default: ``os.environ``); keyword overrides (any field name,
        e.g. ``backend="tcp://host:5556"``) win over it. Raises :class:`SettingsError` when no backend is
        known or a value is malformed."""
        env = os.environ if environ is None else environ
        values: Dict[str, Any] = {}
        if env.get("BATON_BACKEND"):
            values["backend"] = env["BATON_BACKEND"]
        if env.get("BATON_WORKER_ID"):
            values["worker_id"] = env["BATON_WORKER_ID"].encode()
            values["managed"] = True
        for name, key in (("slot", "BATON_SLOT"), ("generation", "BATON_GENERATION")):
            number = _positive(env, key)
            if number is not None:
                values[name] = number
        interval = _positive(env, "BATON_HEARTBEAT_INTERVAL_MS", "BATON_HEARTBEAT_MS")
        if interval is not None:
            values["heartbeat_interval"] = interval / 1000
        liveness = _positive(env, "BATON_HEARTBEAT_LIVENESS")
        if liveness is not None:
            values["heartbeat_liveness"] = liveness
        for name, key in (("server_key", "BATON_SERVER_KEY"), ("public_key", "BATON_CLIENT_PUBLIC_KEY"),
                          ("secret_key", "BATON_CLIENT_SECRET_KEY")):
            if env.get(key):
                values[name] = env[key].encode()
        for name, value in overrides.items():
            if name not in cls.__dataclass_fields__:
                raise SettingsError(f"unknown setting {name!r}")
            if value is not None:
                values[name] = value.encode() if isinstance(value, str) and name.endswith(("_id", "_key")) else value
        if not values.get("backend"):
            raise SettingsError("no backend: set BATON_BACKEND or pass backend=…")
        return cls(**values)._checked()

    def with_overrides(self, **overrides: Any) -> "Settings":
        """A copy with some fields replaced."""
        return replace(self, **overrides)._checked()

    def _checked(self) -> "Settings":
        if self.worker_id is not None and not 1 <= len(self.worker_id) <= 255:
            raise SettingsError("the worker id must be 1…255 bytes")
        if self.heartbeat_interval <= 0 or self.heartbeat_liveness < 1:
            raise SettingsError("the heartbeat interval must be positive and the liveness at least 1")
        if self.drain_timeout < 0:
            raise SettingsError("the drain timeout must not be negative")
        for name in ("server_key", "public_key", "secret_key"):
            key = getattr(self, name)
            if key is not None and len(key) != 40:
                raise SettingsError(f"{name} must be a 40-character Z85 key")
        if self.public_key is not None and self.secret_key is None:
            raise SettingsError("a CURVE public key needs its secret key")
        return self
