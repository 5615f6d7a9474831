"""Sessions against a fake broker: state per key, END both ways, EXPORT and IMPORT (docs/protocol.md 2.5)."""

import asyncio
import threading

import pytest

from baton_worker import Session, Worker
from fake_broker import token


class Counter(Session):
    closed = []

    def __init__(self, key):
        super().__init__(key)
        self.count = 0

    def handle(self, body):
        self.count += 1
        if body == [b"bye"]:
            self.end()
        if body == [b"boom"]:
            raise RuntimeError("boom")
        return str(self.count)

    def export_state(self):
        if self.key == b"stuck":
            raise RuntimeError("cannot export")
        return str(self.count).encode()

    @classmethod
    def import_state(cls, key, state):
        counter = cls(key)
        counter.count = int(state)
        return counter

    def close(self):
        Counter.closed.append(self.key)


class AsyncCounter(Counter):
    async def handle(self, body):
        await asyncio.sleep(0)
        return super().handle(body)

    async def export_state(self):
        return super().export_state()

    @classmethod
    async def import_state(cls, key, state):
        counter = cls(key)
        counter.count = int(state)
        return counter


class NoHandoff(Session):
    def handle(self, body):
        return b"x"


@pytest.fixture(autouse=True)
def fresh_closes():
    Counter.closed = []


def session(broker, number, key, *body):
    broker.session_request(b"w1", token(number), key, *body)
    return broker.next()


@pytest.mark.parametrize("sessions", [Counter, AsyncCounter])
def test_each_key_keeps_its_own_state_and_handoff_is_declared(broker, spawn, sessions):
    spawn(sessions=sessions, capacity=4)
    assert broker.ready() == [b"w1", b"\x01", b"4", b"handoff"]
    assert session(broker, 1, b"a", b"x")[1:] == [token(1), b"", b"1"]
    assert session(broker, 2, b"a", b"x")[1:] == [token(2), b"", b"2"]
    assert session(broker, 3, b"b", b"x")[1:] == [token(3), b"", b"1"]


def test_a_session_class_without_export_and_import_declares_no_handoff(broker, spawn):
    spawn(sessions=NoHandoff)
    assert broker.ready() == [b"w1", b"\x01"]
    broker.send(b"w1", b"\x05", b"k")
    assert broker.next() == [b"w1", b"\x05", b"k", b"error", b"this worker does not export sessions"]
    broker.send(b"w1", b"\x06", b"k", b"3")
    assert broker.next() == [b"w1", b"\x06", b"k", b"error", b"this worker does not import sessions"]


def test_requests_without_a_session_go_to_the_handler_and_session_requests_without_sessions_too(broker, spawn):
    spawn(lambda body: [b"plain", *body], sessions=Counter, capacity=2)
    broker.ready()
    broker.request(b"w1", token(1), b"x")
    assert broker.next()[1:] == [token(1), b"", b"plain", b"x"]


def test_a_worker_without_sessions_sees_the_session_frames_unchanged(broker, spawn):
    spawn(lambda body: body)
    broker.ready()
    assert session(broker, 1, b"k", b"x")[1:] == [token(1), b"", b"BATON-SESSION", b"k", b"x"]


def test_a_session_that_ends_itself_says_end_before_its_reply_and_is_closed(broker, spawn):
    spawn(sessions=Counter, capacity=2)
    broker.ready()
    session(broker, 1, b"a", b"x")
    broker.session_request(b"w1", token(2), b"a", b"bye")
    assert broker.next() == [b"w1", b"\x04", b"a"]
    assert broker.next()[1:] == [token(2), b"", b"2"]
    assert session(broker, 3, b"a", b"x")[1:] == [token(3), b"", b"1"]  # a new session
    assert Counter.closed == [b"a"]


def test_end_from_the_broker_closes_the_session(broker, spawn):
    spawn(sessions=Counter, capacity=2)
    broker.ready()
    session(broker, 1, b"a", b"x")
    broker.send(b"w1", b"\x04", b"a")
    broker.send(b"w1", b"\x04", b"unknown")  # ignored
    assert session(broker, 2, b"a", b"x")[1:] == [token(2), b"", b"1"]
    assert Counter.closed == [b"a"]


@pytest.mark.parametrize("sessions,capacity", [(Counter, 1), (Counter, 2), (AsyncCounter, 2)],
                         ids=["inline", "threads", "asyncio"])
def test_export_answers_the_state_and_keeps_the_session_until_end(broker, spawn, sessions, capacity):
    spawn(sessions=sessions, capacity=capacity)
    broker.ready()
    session(broker, 1, b"a", b"x")
    session(broker, 2, b"a", b"x")
    broker.send(b"w1", b"\x05", b"a")
    assert broker.next() == [b"w1", b"\x05", b"a", b"ok", b"2"]
    assert session(broker, 3, b"a", b"x")[1:] == [token(3), b"", b"3"]  # kept: the move was aborted
    broker.send(b"w1", b"\x04", b"a")
    assert session(broker, 4, b"a", b"x")[1:] == [token(4), b"", b"1"]


def test_export_failures_are_answered_with_the_reason(broker, spawn):
    spawn(sessions=Counter, capacity=2)
    broker.ready()
    broker.send(b"w1", b"\x05", b"nobody")
    assert broker.next() == [b"w1", b"\x05", b"nobody", b"error", b"no such session"]
    session(broker, 1, b"stuck", b"x")
    broker.send(b"w1", b"\x05", b"stuck")
    assert broker.next() == [b"w1", b"\x05", b"stuck", b"error", b"RuntimeError: cannot export"]
    assert session(broker, 2, b"stuck", b"x")[1:] == [token(2), b"", b"2"]


@pytest.mark.parametrize("sessions,capacity", [(Counter, 1), (Counter, 2), (AsyncCounter, 2)],
                         ids=["inline", "threads", "asyncio"])
def test_import_takes_a_session_over_with_its_state(broker, spawn, sessions, capacity):
    spawn(sessions=sessions, capacity=capacity)
    broker.ready()
    broker.send(b"w1", b"\x06", b"moved", b"41")
    assert broker.next() == [b"w1", b"\x06", b"moved", b"ok"]
    assert session(broker, 1, b"moved", b"x")[1:] == [token(1), b"", b"42"]


def test_a_state_that_cannot_be_imported_is_refused_with_the_reason(broker, spawn):
    spawn(sessions=Counter, capacity=2)
    broker.ready()
    broker.send(b"w1", b"\x06", b"bad", b"not a number")
    frames = broker.next()
    assert frames[:4] == [b"w1", b"\x06", b"bad", b"error"]
    assert frames[4].startswith(b"ValueError: ")


def test_requests_of_one_key_run_one_at_a_time_in_order(broker, spawn):
    order = []
    running = threading.Semaphore(1)

    class Serial(Session):
        def handle(self, body):
            assert running.acquire(blocking=False), "two requests of one key ran at once"
            try:
                order.append(body[0])
                return body
            finally:
                running.release()

    spawn(sessions=Serial, capacity=8)
    broker.ready()
    for number in range(20):
        broker.session_request(b"w1", token(number), b"k", str(number).encode())
    broker.replies(20)
    assert order == [str(number).encode() for number in range(20)]


def test_on_error_answers_for_a_failing_session_handler(broker, spawn):
    spawn(sessions=Counter, on_error=lambda error, body: [b"error", str(error)])
    broker.ready()
    assert session(broker, 1, b"a", b"boom")[1:] == [token(1), b"", b"error", b"boom"]
    assert session(broker, 2, b"a", b"x")[1:] == [token(2), b"", b"2"]


def test_a_failing_session_handler_fails_its_request_only_and_the_session_keeps_its_state(broker, spawn):
    spawn(sessions=Counter, capacity=2)
    broker.ready()
    assert session(broker, 1, b"a", b"x")[1:] == [token(1), b"", b"1"]
    assert session(broker, 2, b"a", b"boom")[1:] == [
        token(2), b"", b"BATON-ERR", b"handler-error", b"the request's handler failed"]
    assert session(broker, 3, b"a", b"x")[1:] == [token(3), b"", b"3"]  # the same object, as boom left it


def test_leaving_gives_back_the_session_requests_waiting_behind_their_key(broker, spawn):
    gate = threading.Event()

    class Waiting(Session):
        def handle(self, body):
            if body == [b"bad"]:
                raise ValueError("bad")
            if body == [b"wait"]:
                gate.wait(10)
            return body

    running = spawn(sessions=Waiting, capacity=2, max_handler_errors=1, heartbeat_liveness=100)
    broker.ready()
    broker.session_request(b"w1", token(0), b"k", b"wait")
    broker.session_request(b"w1", token(1), b"k", b"x")  # waits behind token 0: never started
    broker.session_request(b"w1", token(2), b"e", b"bad")
    assert broker.next()[1:] == [token(2), b"", b"BATON-ERR", b"handler-error", b"the request's handler failed"]
    assert broker.next()[1:] == [b"\x07", token(1)]
    gate.set()
    assert broker.next()[1:] == [token(0), b"", b"wait"]
    assert broker.silence(0.3) == []  # the RETURN is not answered yet
    broker.send(b"w1", b"\x07")
    assert broker.next() == [b"w1", b"\x03"]
    assert running.join() == 1


def test_handoff_needs_export_and_import():
    with pytest.raises(TypeError):
        Worker(sessions=NoHandoff, handoff=True)
    with pytest.raises(TypeError):
        Worker(sessions=Session)
    with pytest.raises(TypeError):
        Worker(sessions="not callable")
