"""Handler errors under a real ``baton serve``: a handler that raises fails its own request only (``BATON-ERR
handler-error``), and a worker that leaves after too many errors gives the requests it did not start back to
Baton (RETURN), which serves them on another worker instead of answering ``worker-died``."""

import os
import subprocess
import sys
from pathlib import Path

from live import SDK, Client

WORKER = str(Path(__file__).resolve().parent / "handler_error_worker.py")
HANDLER_ERROR = [b"BATON-ERR", b"handler-error", b"the request's handler failed"]


def receive_all(client, count):
    """The next ``count`` replies, by tag (the request's name)."""
    replies = {}
    for _ in range(count):
        tag, body = client.receive(timeout=30)
        replies[tag] = body
    return replies


def send_named(client, names):
    for name in names:
        client.socket.send_multipart([name, b"", name])


def test_a_handler_that_raises_fails_its_request_only_and_the_worker_stays(serve, needs):
    needs("capacity")
    baton = serve(1, [sys.executable, WORKER, "--capacity", "4"])
    baton.wait_ready(1)
    client = Client(baton.frontend)
    try:
        names = [b"r1", b"r2", b"r3", b"boom", b"r5", b"r6", b"r7", b"r8"]
        send_named(client, names)
        replies = receive_all(client, len(names))
        assert replies[b"boom"] == HANDLER_ERROR, baton.output()
        assert {tag: body for tag, body in replies.items() if tag != b"boom"} == {
            name: [b"slot-1", name] for name in names if name != b"boom"}
        send_named(client, [b"after"])
        assert receive_all(client, 1) == {b"after": [b"slot-1", b"after"]}
        status = baton.status()
        assert status is not None
        assert status["broker"]["workersDisconnected"] == 0 and status["broker"]["workerDied"] == 0
        assert status["slots"][0]["restarts"] == 0 and status["broker"]["workers"] == 1
    finally:
        client.close()


def test_a_worker_that_leaves_after_errors_gives_back_what_it_did_not_start(serve, needs, short_dir):
    needs("capacity")
    baton = serve(0, [])
    backend = baton.endpoints()["backend"]
    gates = Path(short_dir) / "gates"
    gates.mkdir()
    environ = dict(os.environ, PYTHONPATH=str(SDK), PYTHONUNBUFFERED="1")

    def worker(name, *arguments):
        log = open(Path(short_dir) / f"{name}.log", "wb")
        return subprocess.Popen([sys.executable, WORKER, "--backend", backend, "--worker-id", name,
                                 "--capacity", "4", "--gates", str(gates), *arguments],
                                stdout=log, stderr=subprocess.STDOUT, env=environ)

    def logs():
        return baton.output() + "".join(
            f"\n--- {log.name}\n" + log.read_text(errors="replace") for log in Path(short_dir).glob("*.log"))

    leaving = worker("A", "--max-handler-errors", "1")
    other = None
    client = Client(baton.frontend)
    try:
        baton.wait("A is ready", lambda status: status["broker"]["workers"] == 1)
        send_named(client, [b"b1", b"b2", b"b3", b"boom", b"r5", b"r6"])
        # A runs four; two wait in the broker's queue.
        baton.wait("A holds four and two are queued",
                   lambda status: status["broker"]["inFlight"] == 4 and status["broker"]["queueDepth"] == 2)
        # boom raises: its reply frees a slot, so the broker sends r5 to A before it reads A's RETURN; A, leaving,
        # gives r5 back.
        (gates / "boom").touch()
        assert receive_all(client, 1) == {b"boom": HANDLER_ERROR}, logs()
        status = baton.wait("A gave r5 back", lambda status: status["broker"]["requestsReturned"] == 1
                            and status["broker"]["queueDepth"] == 2)
        assert status["broker"]["inFlight"] == 3
        other = worker("B")
        assert receive_all(client, 2) == {b"r5": [b"B", b"r5"], b"r6": [b"B", b"r6"]}, logs()
        for name in ("b1", "b2", "b3"):
            (gates / name).touch()
        assert receive_all(client, 3) == {name: [b"A", name] for name in (b"b1", b"b2", b"b3")}, logs()
        assert leaving.wait(30) == 1, logs()
        status = baton.wait("A said DISCONNECT", lambda status: status["broker"]["workersDisconnected"] == 1)
        assert status["broker"]["workerDied"] == 0 and status["broker"]["retried"] == 0
        assert status["broker"]["requestsReturned"] == 1
    finally:
        client.close()
        for process in (leaving, other):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(10)
