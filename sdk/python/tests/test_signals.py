"""The examples as processes against a fake broker: SIGTERM and SIGINT drain (finish what is held, say
DISCONNECT, exit 0), and the environment contract is read as Baton sets it."""

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fake_broker import token

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def launch(broker, example, *arguments, worker_id="slot-1"):
    environ = dict(os.environ, BATON_BACKEND=broker.endpoint, BATON_WORKER_ID=worker_id, BATON_SLOT="1",
                   BATON_GENERATION="1", BATON_HEARTBEAT_INTERVAL_MS="100", BATON_HEARTBEAT_LIVENESS="3")
    return subprocess.Popen([sys.executable, str(EXAMPLES / example), *arguments], env=environ,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def wait_for_output(process, text, timeout=10):
    """Reads the process's output until ``text`` appears; fails after ``timeout`` seconds."""
    seen = b""
    deadline = time.monotonic() + timeout
    while text.encode() not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"{text!r} not in the output: {seen.decode()}"
        if select.select([process.stdout], [], [], left)[0]:
            chunk = os.read(process.stdout.fileno(), 4096)
            assert chunk, f"output ended before {text!r}: {seen.decode()}"
            seen += chunk
    return seen.decode()


def finish(process, timeout=10):
    try:
        status = process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise
    return status, process.stdout.read().decode()


@pytest.mark.parametrize("number,arguments", [(signal.SIGTERM, []), (signal.SIGINT, []),
                                              (signal.SIGTERM, ["--capacity", "4", "--async"])],
                         ids=["sigterm", "sigint", "sigterm-async"])
def test_a_signal_drains_the_held_requests_then_says_disconnect_and_exits_0(broker, number, arguments):
    process = launch(broker, "echo_worker.py", "--work-ms", "600", "--log-requests", *arguments)
    try:
        assert broker.ready()[0] == b"slot-1"
        broker.request(b"slot-1", token(1), b"held")
        wait_for_output(process, "request of 1 frame(s)")
        process.send_signal(number)
        assert broker.next()[1:] == [token(1), b"", b"held"]
        assert broker.next() == [b"slot-1", b"\x03"]
        status, output = finish(process)
        assert status == 0, output
        assert f"stopping on signal {int(number)}" in output
    finally:
        process.kill()
        process.wait()


def test_a_managed_example_exits_1_when_its_broker_falls_silent(broker):
    process = launch(broker, "room_worker.py")
    try:
        assert broker.ready() == [b"slot-1", b"\x01", b"8", b"handoff"]
        broker.heartbeating = False
        status, output = finish(process)
        assert status == 1
        assert "broker silent" in output
    finally:
        process.kill()
        process.wait()


def test_the_room_example_counts_per_session(broker):
    process = launch(broker, "room_worker.py", "--capacity", "2")
    try:
        broker.ready()
        answers = []
        for number, key in enumerate([b"r1", b"r1", b"r2", b"r1"]):
            broker.session_request(b"slot-1", token(number), key, b"hello")
            answers.append(broker.next()[3:])
        assert answers == [[b"1"], [b"2"], [b"1"], [b"3"]]
        process.send_signal(signal.SIGTERM)
        assert broker.next() == [b"slot-1", b"\x03"]
        assert finish(process)[0] == 0
    finally:
        process.kill()
        process.wait()


@pytest.mark.parametrize("arguments", [[], ["--capacity", "4", "--async"]], ids=["plain", "async"])
def test_the_echo_example_fails_request_n_on_purpose_with_fail_on(broker, arguments):
    process = launch(broker, "echo_worker.py", "--fail-on", "2", *arguments)
    try:
        assert broker.ready()[0] == b"slot-1"
        for number in (1, 2, 3):
            broker.request(b"slot-1", token(number), b"n%d" % number)
            expected = ([b"BATON-ERR", b"handler-error", b"the request's handler failed"] if number == 2
                        else [b"n%d" % number])
            assert broker.next()[1:] == [token(number), b""] + expected
        process.send_signal(signal.SIGTERM)
        assert broker.next() == [b"slot-1", b"\x03"]
        status, output = finish(process)
        assert status == 0, output
        assert "request 2 failed on purpose (--fail-on)" in output
    finally:
        process.kill()
        process.wait()
