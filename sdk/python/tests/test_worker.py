"""The worker against a fake broker (a real ROUTER socket): registration, replies, capacity, heartbeats,
stopping, broker loss and handler errors."""

import asyncio
import threading
import time

import pytest
import zmq

from baton_worker import ExitReason, Settings, Worker
from fake_broker import FakeBroker, token


def echo(body):
    return body


async def echo_async(body):
    await asyncio.sleep(0)
    return body


def test_a_capacity_one_worker_registers_with_a_version_one_ready_and_echoes(broker, spawn):
    running = spawn(echo)
    assert broker.ready() == [b"w1", b"\x01"]
    broker.request(b"w1", token(1), b"hello", b"world")
    assert broker.next() == [b"w1", token(1), b"", b"hello", b"world"]
    assert running.stop() == 0
    assert broker.next() == [b"w1", b"\x03"]
    assert running.worker.exit_reason == ExitReason.STOPPED


@pytest.mark.parametrize("handler,inline", [(echo, False), (echo_async, None)], ids=["threads", "asyncio"])
def test_a_worker_of_capacity_eight_declares_it_and_answers_every_request(broker, spawn, handler, inline):
    spawn(handler, capacity=8, inline=inline)
    assert broker.ready() == [b"w1", b"\x01", b"8"]
    for number in range(200):
        broker.request(b"w1", token(number), str(number).encode())
    replies = broker.replies(200)
    assert replies == {token(number): [str(number).encode()] for number in range(200)}


@pytest.mark.parametrize("mode", ["threads", "asyncio"])
def test_capacity_eight_serves_eight_requests_at_once(broker, spawn, mode):
    started = []
    all_in = threading.Barrier(8, timeout=5)

    def blocking(body):
        started.append(body)
        all_in.wait()  # breaks (and the test fails) unless all 8 run at the same time
        return body

    gate = None

    async def blocking_async(body):
        nonlocal gate
        started.append(body)
        if gate is None:
            gate = asyncio.Event()
        if len(started) == 8:
            gate.set()
        await asyncio.wait_for(gate.wait(), 5)
        return body

    spawn(blocking if mode == "threads" else blocking_async, capacity=8)
    broker.ready()
    for number in range(8):
        broker.request(b"w1", token(number), b"x%d" % number)
    assert len(broker.replies(8)) == 8
    assert len(started) == 8


def test_replies_may_come_back_in_any_order(broker, spawn):
    def slow_first(body):
        if body == [b"slow"]:
            time.sleep(0.3)
        return body

    spawn(slow_first, capacity=2)
    broker.ready()
    broker.request(b"w1", token(1), b"slow")
    broker.request(b"w1", token(2), b"fast")
    assert broker.next()[1] == token(2)
    assert broker.next()[1] == token(1)


@pytest.mark.parametrize("capacity,inline", [(1, None), (1, False), (4, None)], ids=["inline", "thread", "pool"])
def test_heartbeats_go_on_while_a_handler_blocks_past_the_liveness_window(broker, spawn, capacity, inline):
    # interval 0.1 s × liveness 3 = 0.3 s; the handler blocks for 1 s.
    spawn(lambda body: time.sleep(1.0) or body, capacity=capacity, inline=inline)
    broker.ready()
    broker.request(b"w1", token(1), b"slow")
    before = broker.heartbeats
    started = time.monotonic()
    messages = []
    while time.monotonic() - started < 0.9:
        messages += broker.silence(0.1)
    assert messages == []
    assert broker.heartbeats - before >= 6, "heartbeats stopped while the handler ran"
    assert broker.next(timeout=2)[1:] == [token(1), b"", b"slow"]
    assert broker.silence(0.5) == [], "the worker took the broker for gone after the handler"


def test_stop_finishes_what_is_held_then_says_disconnect(broker, spawn):
    release = threading.Event()
    running = spawn(lambda body: release.wait(5) and body, capacity=4)
    broker.ready()
    for number in range(3):
        broker.request(b"w1", token(number), b"held")
    time.sleep(0)  # nothing to settle: stop() must wait for the requests whatever the timing
    running.worker.stop()
    assert broker.silence(0.3) == []  # still holding: neither replies nor DISCONNECT yet
    release.set()
    replies = broker.replies(3)
    assert set(replies) == {token(number) for number in range(3)}
    assert broker.next() == [b"w1", b"\x03"]
    assert running.join() == 0


def test_a_request_arriving_while_draining_is_served_too(broker, spawn):
    release = threading.Event()
    started = threading.Semaphore(0)

    def handler(body):
        started.release()
        return release.wait(5) and body

    running = spawn(handler, capacity=2)
    broker.ready()
    broker.request(b"w1", token(1), b"first")
    assert started.acquire(timeout=5)
    running.worker.stop()
    broker.request(b"w1", token(2), b"second")
    assert started.acquire(timeout=5)
    release.set()
    assert set(broker.replies(2)) == {token(1), token(2)}
    assert broker.next() == [b"w1", b"\x03"]
    assert running.join() == 0


def test_the_drain_timeout_bounds_the_wait_for_a_stuck_handler(broker, spawn):
    release = threading.Event()
    running = spawn(lambda body: release.wait(10) and body, drain_timeout=0.3, capacity=2)
    broker.ready()
    broker.request(b"w1", token(1), b"stuck")
    started = time.monotonic()
    running.worker.stop()
    assert broker.next() == [b"w1", b"\x03"]
    assert running.join() == 0
    assert time.monotonic() - started < 2
    release.set()


def test_a_managed_worker_exits_1_when_the_broker_falls_silent(broker, spawn):
    running = spawn(echo, managed=True)
    broker.ready()
    broker.heartbeating = False
    assert running.join(timeout=5) == 1
    assert running.worker.exit_reason == ExitReason.BROKER_LOST


def test_an_external_worker_connects_again_when_the_broker_falls_silent(broker, spawn):
    spawn(echo)
    broker.ready()
    broker.heartbeating = False
    again = broker.ready(timeout=3)  # nothing sent to it for 0.3 s: it says READY on a new connection
    assert again == [b"w1", b"\x01"]
    broker.heartbeating = True
    broker.request(b"w1", token(5), b"after")
    assert broker.next()[1:] == [token(5), b"", b"after"]


HANDLER_ERROR = [b"BATON-ERR", b"handler-error", b"the request's handler failed"]


@pytest.mark.parametrize("mode", ["threads", "asyncio", "inline"])
def test_a_failing_handler_fails_its_own_request_only_and_the_worker_keeps_serving(broker, spawn, mode):
    def handler(body):
        if body == [b"bad"]:
            raise ValueError("secret detail")
        return body

    async def handler_async(body):
        return handler(body)

    capacity = 1 if mode == "inline" else 4
    running = spawn(handler_async if mode == "asyncio" else handler, capacity=capacity)
    broker.ready()
    names = [b"r0", b"r1", b"bad", b"r3", b"r4"]
    for number, name in enumerate(names):
        broker.request(b"w1", token(number), name)
    replies = broker.replies(len(names))
    assert replies[token(2)] == HANDLER_ERROR  # the exception's text stays in the worker's log
    assert {tag: body for tag, body in replies.items() if tag != token(2)} == {
        token(number): [name] for number, name in enumerate(names) if name != b"bad"}
    # It stays: no DISCONNECT, and the next requests are served, a failing one included.
    broker.request(b"w1", token(5), b"bad")
    broker.request(b"w1", token(6), b"after")
    assert broker.replies(2) == {token(5): HANDLER_ERROR, token(6): [b"after"]}
    assert running.thread.is_alive()
    assert running.stop() == 0
    assert broker.next() == [b"w1", b"\x03"]


def test_reveal_errors_puts_the_exception_type_and_message_in_the_error_text(broker, spawn):
    def handler(body):
        raise ValueError("no such room")

    spawn(handler, capacity=2, reveal_errors=True)
    broker.ready()
    broker.request(b"w1", token(1), b"x")
    assert broker.next()[1:] == [token(1), b"", b"BATON-ERR", b"handler-error", b"ValueError: no such room"]


def test_after_max_handler_errors_the_worker_gives_back_what_it_did_not_start_and_leaves(broker, spawn):
    gates = {name: threading.Event() for name in (b"a", b"b", b"c")}

    def handler(body):
        if body == [b"bad"]:
            raise ValueError("bad request")
        gates[body[0]].wait(10)
        return body

    # A long liveness window: the worker waits that long at most for the broker's answer to its RETURN.
    running = spawn(handler, capacity=2, max_handler_errors=2, heartbeat_liveness=100)
    broker.ready()
    # Two threads: a and b run; bad, bad, c, c wait.
    for number, name in enumerate([b"a", b"b", b"bad", b"bad", b"c", b"c"]):
        broker.request(b"w1", token(number), name)
    gates[b"a"].set()  # a answers; its thread takes the first bad, then the second: two errors in a row
    assert broker.next()[1:] == [token(0), b"", b"a"]
    assert broker.next()[1:] == [token(2), b"", *HANDLER_ERROR]
    assert broker.next()[1:] == [token(3), b"", *HANDLER_ERROR]
    # b still blocks; the freed thread may have started the first c, never the second: given back.
    returned = broker.next()
    assert returned[1] == b"\x07", returned
    assert token(5) in returned[2:] and set(returned[2:]) <= {token(4), token(5)}, returned
    # A request the broker sent before it read the RETURN is given back at once.
    broker.request(b"w1", token(6), b"late")
    assert broker.next()[1:] == [b"\x07", token(6)]
    # What it started is answered; it says DISCONNECT only once the broker has answered the RETURN.
    gates[b"b"].set()
    gates[b"c"].set()
    started_c = token(4) not in returned[2:]
    expected = {token(1): [b"b"], **({token(4): [b"c"]} if started_c else {})}
    assert broker.replies(len(expected)) == expected
    assert broker.silence(0.3) == []
    broker.send(b"w1", b"\x07")
    assert broker.next() == [b"w1", b"\x03"]
    assert running.join() == 1
    assert running.worker.exit_reason == ExitReason.HANDLER_FAILED


def test_a_request_served_well_resets_the_count_of_handler_errors(broker, spawn):
    def handler(body):
        if body == [b"bad"]:
            raise ValueError("bad request")
        return body

    running = spawn(handler, max_handler_errors=2)
    broker.ready()
    for number, name in enumerate([b"bad", b"good", b"bad", b"good"]):
        broker.request(b"w1", token(number), name)
        broker.next()
    assert broker.silence(0.3) == []  # never two errors in a row: no RETURN, no DISCONNECT
    assert running.thread.is_alive()


def test_max_handler_errors_must_be_at_least_one():
    with pytest.raises(ValueError):
        Worker(echo, max_handler_errors=0, backend="ipc:///tmp/x")


@pytest.mark.parametrize("asynchronous", [False, True])
def test_on_error_answers_for_a_failing_handler(broker, spawn, asynchronous):
    def handler(body):
        raise KeyError("missing")

    async def handler_async(body):
        raise KeyError("missing")

    spawn(handler_async if asynchronous else handler, on_error=lambda error, body: [b"oops", repr(error)])
    broker.ready()
    broker.request(b"w1", token(1), b"x")
    assert broker.next()[1:] == [token(1), b"", b"oops", b"KeyError('missing')"]


def test_a_handler_may_return_none_bytes_or_text(broker, spawn):
    answers = {b"none": None, b"bytes": b"B", b"text": "T"}
    spawn(lambda body: answers[body[0]], capacity=3)
    broker.ready()
    for number, name in enumerate(answers):
        broker.request(b"w1", token(number), name)
    assert broker.replies(3) == {token(0): [b""], token(1): [b"B"], token(2): [b"T"]}


def test_serve_runs_async_handlers_on_the_callers_loop(broker):
    seen = []

    async def main():
        loop = asyncio.get_running_loop()

        async def handler(body):
            seen.append(asyncio.get_running_loop() is loop)
            return body

        worker = Worker(handler, capacity=4, settings=Settings(backend=broker.endpoint, worker_id=b"w1",
                                                               heartbeat_interval=0.1))
        serving = asyncio.ensure_future(worker.serve())
        await loop.run_in_executor(None, broker.ready)
        broker.request(b"w1", token(1), b"hi")
        reply = await loop.run_in_executor(None, broker.next)
        worker.stop()
        return reply, await asyncio.wait_for(serving, 10)

    reply, status = asyncio.run(main())
    assert reply[1:] == [token(1), b"", b"hi"]
    assert status == 0
    assert seen == [True]


def test_curve_settings_make_the_worker_connect_with_curve(short_dir):
    server_public, server_secret = zmq.curve_keypair()
    curve_broker = FakeBroker("tcp://127.0.0.1:0", curve_secret=server_secret)
    try:
        endpoint = curve_broker.socket.getsockopt(zmq.LAST_ENDPOINT).decode()
        public, secret = zmq.curve_keypair()
        worker = Worker(echo, backend=endpoint, worker_id="w1", heartbeat_interval=0.1,
                        server_key=server_public.decode(), public_key=public.decode(), secret_key=secret.decode())
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        assert curve_broker.ready() == [b"w1", b"\x01"]
        curve_broker.request(b"w1", token(1), b"secret")
        assert curve_broker.next()[1:] == [token(1), b"", b"secret"]
        worker.stop()
        thread.join(10)
    finally:
        curve_broker.close()


def test_a_worker_needs_a_handler_or_sessions_and_a_sane_capacity():
    with pytest.raises(ValueError):
        Worker(echo, capacity=0)
    with pytest.raises(ValueError):
        Worker(echo, capacity=2, inline=True)
    with pytest.raises(TypeError):
        Worker(backend="ipc:///nowhere").run()
