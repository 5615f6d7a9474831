"""The SDK's echo worker under a real ``baton serve``: load, reloads, drain on SIGTERM, heartbeats while a
handler blocks, and CURVE. Tests that need broker features of protocol version 2 skip, with the reason,
when a probe finds the broker under test without them."""

import json
import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from live import Client, Load, baton_binary, bench_report, example, wait_until


@pytest.mark.parametrize("capacity", [1, 8])
def test_echo_under_load_loses_nothing(serve, needs, capacity):
    if capacity > 1:
        needs("capacity")
    baton = serve(4, example("echo_worker.py", "--capacity", str(capacity), "--work-ms", "1"))
    status = baton.wait_ready(4)
    assert [slot.get("capacity", 1) for slot in status["slots"]] == [capacity] * 4
    bench = baton.background("bench", "--clients", "8", "--window", "16", "--duration", "4", "--warmup", "0.2")
    most_in_flight = 0

    def watch():
        nonlocal most_in_flight
        status = baton.status()
        if status:
            most_in_flight = max(most_in_flight, status["broker"]["inFlight"])
        return bench.poll() is not None

    wait_until("the bench finishes", watch, timeout=60)
    output = bench.stdout.read()
    assert bench.returncode == 0, output + baton.output()
    report = bench_report(output)
    assert report["matched"] > 0 and report["lost"] == 0 and report["errors"] == 0 and report["mismatched"] == 0
    if capacity > 1:
        assert most_in_flight > 4, "the workers never held more than one request each"
    else:
        assert most_in_flight <= 4


@pytest.mark.parametrize("capacity", [1, 8])
def test_a_reload_under_load_fails_no_request(serve, needs, capacity):
    if capacity > 1:
        needs("capacity")
    baton = serve(2, example("echo_worker.py", "--capacity", str(capacity)))
    baton.wait_ready(2)
    load = Load(baton.frontend, window=16)
    load.start()
    wait_until("the load is served", lambda: load.matched >= 200, output=baton.output)
    reload = baton.command("reload", timeout=120)
    assert reload.returncode == 0, reload.stdout + reload.stderr + baton.output()
    served_before = load.matched
    wait_until("the new generation serves", lambda: load.matched >= served_before + 200, output=baton.output)
    load.finish()
    assert (load.errors, load.wrong) == ([], [])
    assert load.matched == load.sent
    baton.wait_ready(2, generation=2)


@pytest.mark.parametrize("capacity", [1, 8])
def test_sigterm_to_a_worker_finishes_the_requests_it_holds(serve, needs, capacity):
    if capacity > 1:
        needs("capacity")
    baton = serve(1, example("echo_worker.py", "--capacity", str(capacity), "--work-ms", "1500",
                             "--log-requests"))
    status = baton.wait_ready(1)
    pid, worker_id = status["slots"][0]["pid"], status["slots"][0]["workerID"]
    client = Client(baton.frontend)
    try:
        tags = {client.send(b"held-%d" % number): [b"held-%d" % number] for number in range(capacity)}
        wait_until(f"the worker holds {capacity} request(s)",
                   lambda: baton.output().count("request of 1 frame(s)") >= capacity, output=baton.output)
        os.kill(pid, signal.SIGTERM)
        replies = dict(client.receive(timeout=10) for _ in range(capacity))
        assert replies == tags
    finally:
        client.close()

    def exited():
        # The broker may record the worker as gone (exitedAt) before the supervisor reaps it; the exit status
        # (exitCode or exitSignal) is written when the process is reaped.
        workers = json.loads(baton.command("workers", "--json").stdout)
        return any(row["workerID"] == worker_id and ("exitCode" in row or "exitSignal" in row) for row in workers)

    wait_until("the worker's exit status is recorded", exited, output=baton.output)
    row = next(row for row in json.loads(baton.command("workers", "--json").stdout) if row["workerID"] == worker_id)
    assert row["exitCode"] == 0 and row["exitReason"] == "disconnected", row
    assert f"stopping on signal {int(signal.SIGTERM)}" in baton.output()


@pytest.mark.parametrize("mode", [[], ["--async"]], ids=["threads", "asyncio"])
def test_heartbeats_keep_a_worker_whose_handler_outlasts_the_liveness_window(serve, mode):
    # Liveness 200 ms × 3 = 0.6 s; each request takes 2 s.
    baton = serve(1, example("echo_worker.py", "--work-ms", "2000", *mode), heartbeat_ms=200,
                  options=["--heartbeat-liveness", "3"])
    pid = baton.wait_ready(1)["slots"][0]["pid"]
    client = Client(baton.frontend)
    try:
        for number in range(2):
            assert client.call(b"slow-%d" % number, timeout=10) == [b"slow-%d" % number]
    finally:
        client.close()
    status = baton.status()
    assert status["broker"]["workersExpired"] == 0 and status["broker"]["workersHung"] == 0
    assert status["slots"][0].get("pid") == pid and status["slots"][0]["restarts"] == 0


def test_managed_workers_connect_with_curve_on_a_tcp_backend(serve, short_dir):
    subprocess.run([baton_binary(), "keygen", f"{short_dir}/server"], check=True, capture_output=True)
    baton = serve(2, example("echo_worker.py"), frontend="tcp://127.0.0.1:*", backend="tcp://127.0.0.1:*",
                  options=["--curve-key", f"{short_dir}/server.key"])
    frontend = baton.endpoints()["frontend"]
    baton.wait_ready(2)
    key = f"{short_dir}/server.pub"
    call = baton.command("call", "--frontend", frontend, "--server-key", key, "a", "b")
    assert (call.returncode, call.stdout) == (0, "a\nb\n"), call.stderr + baton.output()
    bench = baton.command("bench", "--frontend", frontend, "--server-key", key, "--clients", "4", "--window", "4",
                          "--total", "400")
    assert bench.returncode == 0 and "matched=400" in bench.stdout, bench.stdout + baton.output()
    plain = baton.command("call", "--frontend", frontend, "--timeout", "0.5", "plain")
    assert plain.returncode == 3
    assert re.search(r"CURVE", Path(baton.output_path).read_text())
