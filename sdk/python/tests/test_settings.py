"""Settings from Baton's environment contract (docs/workers.md), with overrides."""

import pytest
import zmq

from baton_worker import Settings, SettingsError

MANAGED = {
    "BATON_BACKEND": "ipc:///run/baton/backend.ipc",
    "BATON_WORKER_ID": "run1-3-7",
    "BATON_SLOT": "3",
    "BATON_GENERATION": "2",
    "BATON_HEARTBEAT_INTERVAL_MS": "250",
    "BATON_HEARTBEAT_LIVENESS": "5",
}


def test_a_managed_worker_reads_everything_from_the_environment():
    settings = Settings.from_environment(MANAGED)
    assert settings.backend == "ipc:///run/baton/backend.ipc"
    assert settings.worker_id == b"run1-3-7"
    assert (settings.slot, settings.generation) == (3, 2)
    assert settings.heartbeat_interval == 0.25
    assert settings.heartbeat_liveness == 5
    assert settings.liveness_window == 1.25
    assert settings.managed
    assert settings.server_key is None


def test_the_old_heartbeat_variable_is_read_when_the_new_one_is_absent():
    environ = dict(MANAGED, BATON_HEARTBEAT_MS="400")
    del environ["BATON_HEARTBEAT_INTERVAL_MS"]
    assert Settings.from_environment(environ).heartbeat_interval == 0.4


def test_overrides_win_and_make_an_external_worker():
    settings = Settings.from_environment({}, backend="tcp://10.0.0.5:5556", worker_id="east-1",
                                         heartbeat_interval=2.0, drain_timeout=1.5)
    assert settings.backend == "tcp://10.0.0.5:5556"
    assert settings.worker_id == b"east-1"
    assert settings.heartbeat_interval == 2.0
    assert settings.heartbeat_liveness == 3
    assert settings.drain_timeout == 1.5
    assert not settings.managed
    assert Settings.from_environment(MANAGED, backend="tcp://a:1").backend == "tcp://a:1"
    assert Settings.from_environment(MANAGED, backend=None).backend == MANAGED["BATON_BACKEND"]


def test_curve_keys_come_from_the_environment():
    server_public, _ = zmq.curve_keypair()
    public, secret = zmq.curve_keypair()
    settings = Settings.from_environment(dict(MANAGED, BATON_SERVER_KEY=server_public.decode(),
                                              BATON_CLIENT_PUBLIC_KEY=public.decode(),
                                              BATON_CLIENT_SECRET_KEY=secret.decode()))
    assert (settings.server_key, settings.public_key, settings.secret_key) == (server_public, public, secret)
    assert secret.decode() not in repr(settings)


@pytest.mark.parametrize("environ,overrides,complaint", [
    ({}, {}, "no backend"),
    (dict(MANAGED, BATON_HEARTBEAT_LIVENESS="three"), {}, "BATON_HEARTBEAT_LIVENESS"),
    (MANAGED, {"server_key": "short"}, "40-character"),
    (MANAGED, {"worker_id": "x" * 256}, "1…255"),
    (MANAGED, {"heartbeat_interval": 0}, "heartbeat"),
    (MANAGED, {"drain_timeout": -1}, "drain"),
    (MANAGED, {"colour": "red"}, "unknown setting"),
])
def test_malformed_settings_are_refused_with_the_reason(environ, overrides, complaint):
    with pytest.raises(SettingsError, match=complaint):
        Settings.from_environment(environ, **overrides)
