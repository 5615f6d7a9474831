"""The workers in sdk/python/README.md run as written, against a fake broker."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from fake_broker import token

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def run_block(short_dir, broker, code):
    path = Path(short_dir) / "worker.py"
    path.write_text(code)
    environ = dict(os.environ, BATON_BACKEND=broker.endpoint, BATON_WORKER_ID="readme", BATON_SLOT="1",
                   BATON_HEARTBEAT_INTERVAL_MS="100",
                   PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    return subprocess.Popen([sys.executable, str(path)], env=environ, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)


@pytest.mark.parametrize("index,requests,ready", [
    (0, [([b"join"], [b"ok join"])], [b"\x01", b"8"]),
    (1, [([b"BATON-SESSION", b"room-1", b"hi"], [b"1"]), ([b"BATON-SESSION", b"room-1", b"hi"], [b"2"])],
     [b"\x01", b"8", b"handoff"]),
], ids=["ten-line-worker", "room"])
def test_a_readme_worker_serves_and_stops_cleanly(short_dir, broker, index, requests, ready):
    process = run_block(short_dir, broker, python_blocks()[index])
    try:
        assert broker.ready()[1:] == ready
        for number, (body, reply) in enumerate(requests):
            broker.request(b"readme", token(number), *body)
            assert broker.next()[1:] == [token(number), b"", *reply]
        process.send_signal(signal.SIGTERM)
        assert broker.next() == [b"readme", b"\x03"]
        assert process.wait(10) == 0
    finally:
        process.kill()
        process.wait()
