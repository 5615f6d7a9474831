"""The frames of the worker protocol (docs/protocol.md 2.1–2.5), without sockets."""

import pytest

from baton_worker import protocol
from baton_worker._jobs import reply_frames, state_bytes


def test_ready_is_a_single_byte_for_capacity_one_without_capabilities():
    assert protocol.ready() == [b"\x01"]


def test_ready_carries_capacity_and_capabilities_as_text():
    assert protocol.ready(8) == [b"\x01", b"8"]
    assert protocol.ready(1, ["handoff"]) == [b"\x01", b"1", b"handoff"]
    assert protocol.ready(1000, ["handoff", "x"]) == [b"\x01", b"1000", b"handoff x"]


@pytest.mark.parametrize("capacity", [0, -1, 1001])
def test_ready_refuses_a_capacity_outside_the_bounds(capacity):
    with pytest.raises(ValueError):
        protocol.ready(capacity)


def test_a_reply_puts_the_token_and_the_delimiter_before_the_body_and_is_never_empty():
    assert protocol.reply(b"12345678", [b"a", b"b"]) == [b"12345678", b"", b"a", b"b"]
    assert protocol.reply(b"12345678", []) == [b"12345678", b"", b""]


def test_a_handler_error_and_return_follow_the_frame_tables():
    assert protocol.handler_error("the request's handler failed") == [
        b"BATON-ERR", b"handler-error", b"the request's handler failed"]
    assert protocol.return_([b"12345678", b"87654321"]) == [b"\x07", b"12345678", b"87654321"]
    assert protocol.return_([]) == [b"\x07"]
    assert protocol.parse([b"\x07"]) is protocol.RETURN  # the broker's answer to RETURN
    assert protocol.parse([b"\x07", b"12345678"]) is None


def test_session_answers_follow_the_frame_tables():
    assert protocol.end(b"k") == [b"\x04", b"k"]
    assert protocol.export_ok(b"k", b"s") == [b"\x05", b"k", b"ok", b"s"]
    assert protocol.export_error(b"k", "no") == [b"\x05", b"k", b"error", b"no"]
    assert protocol.import_ok(b"k") == [b"\x06", b"k", b"ok"]
    assert protocol.import_error(b"k", "no") == [b"\x06", b"k", b"error", b"no"]


def test_parse_tells_heartbeats_requests_and_session_messages_apart():
    assert protocol.parse([b"\x02"]) is protocol.HEARTBEAT
    request = protocol.parse([b"12345678", b"", b"x", b"y"])
    assert request == protocol.Request(b"12345678", [b"x", b"y"])
    session = protocol.parse([b"12345678", b"", b"BATON-SESSION", b"room", b"hi"])
    assert session == protocol.Request(b"12345678", [b"hi"], b"room")
    assert session.frames() == [b"BATON-SESSION", b"room", b"hi"]
    assert protocol.parse([b"\x04", b"room"]) == protocol.Control(b"\x04", b"room")
    assert protocol.parse([b"\x05", b"room"]) == protocol.Control(b"\x05", b"room")
    assert protocol.parse([b"\x06", b"room", b"7"]) == protocol.Control(b"\x06", b"room", b"7")


def test_a_request_whose_marker_has_no_key_or_no_body_is_an_ordinary_request():
    assert protocol.parse([b"12345678", b"", b"BATON-SESSION", b"room"]).session is None
    assert protocol.parse([b"12345678", b"", b"BATON-SESSION", b"", b"x"]).session is None


@pytest.mark.parametrize("frames", [[], [b"\x02", b""], [b"\x04"], [b"\x06", b"room"], [b"12345678", b"x", b"y"],
                                    [b"\x09"]])
def test_parse_returns_none_for_anything_else(frames):
    assert protocol.parse(frames) is None


def test_handler_results_become_frames():
    assert reply_frames(None) == [b""]
    assert reply_frames(b"x") == [b"x"]
    assert reply_frames("é") == ["é".encode()]
    assert reply_frames([b"a", "b"]) == [b"a", b"b"]
    assert reply_frames(()) == [b""]
    with pytest.raises(TypeError):
        reply_frames(3)
    with pytest.raises(TypeError):
        reply_frames([b"a", 3])
    assert state_bytes("7") == b"7"
    assert state_bytes(bytearray(b"7")) == b"7"
    with pytest.raises(TypeError):
        state_bytes(7)
