"""The SDK's room worker under a real ``baton serve``: session counts survive a rolling reload (handoff), and
a session whose worker is killed reports ``session-lost`` once. Skipped, with the reason, when a probe finds
the broker under test without sessions or handoff."""

import os
import signal

import pytest

from live import Client, Load, example, wait_until

KEYS = [b"room-%02d" % number for number in range(20)]


@pytest.fixture
def rooms(serve):
    """Two room workers under ``baton serve``."""
    return serve(2, example("room_worker.py"))


def test_room_counts_continue_across_a_reload(rooms, needs):
    needs("sessions", "handoff")
    rooms.wait_ready(2)
    load = Load(rooms.frontend, keys=KEYS)
    load.start()
    wait_until("every room has counted to 3", lambda: load.replies_per_key() >= 3, output=rooms.output)
    reload = rooms.command("reload", timeout=120)
    assert reload.returncode == 0, reload.stdout + reload.stderr + rooms.output()
    after = {key: len(counts) for key, counts in load.counts.items()}
    wait_until("every room has counted 3 more on the new generation",
               lambda: all(len(load.counts[key]) >= after[key] + 3 for key in KEYS), output=rooms.output)
    load.finish()
    assert (load.errors, load.wrong) == ([], [])
    for key in KEYS:
        counts = load.counts[key]
        assert counts == list(range(1, len(counts) + 1)), (key, counts)
    rooms.wait_ready(2, generation=2)


def test_a_session_on_a_killed_worker_reports_session_lost_once(rooms, needs):
    needs("sessions")
    status = rooms.wait_ready(2)
    client = Client(rooms.frontend)
    try:
        for round_number in (1, 2):
            for key in KEYS:
                assert client.call(b"BATON-SESSION", key, b"hi") == [str(round_number).encode()]
        victim = status["slots"][0]["pid"]
        os.kill(victim, signal.SIGKILL)
        rooms.wait("the killed worker's slot is replaced",
                   lambda s: s["slots"][0].get("pid") not in (None, victim) and s["slots"][0]["state"] == "ready")
        lost, kept = [], []
        for key in KEYS:
            reply = client.call(b"BATON-SESSION", key, b"hi")
            if reply[:2] == [b"BATON-ERR", b"session-lost"]:
                lost.append(key)
            else:
                assert reply == [b"3"], (key, reply)
                kept.append(key)
        assert lost and kept, "both workers held sessions; only the killed one's are lost"
        for key in lost:
            assert client.call(b"BATON-SESSION", key, b"hi") == [b"1"], key  # a new session
        for key in kept:
            assert client.call(b"BATON-SESSION", key, b"hi") == [b"4"], key
    finally:
        client.close()
