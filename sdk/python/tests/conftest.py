"""Fixtures for the SDK's tests: a short temporary directory for ipc endpoints, a fake broker (a real pyzmq
ROUTER socket) for the unit tests, and a watchdog that bounds every test in time."""

from __future__ import annotations

import faulthandler
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

SDK = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(SDK))  # the package under test, installed or not
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fake_broker import FakeBroker  # noqa: E402

TEST_TIME_LIMIT = 180  # seconds; the watchdog ends a stuck run with every thread's stack


@pytest.fixture(autouse=True)
def watchdog() -> Iterator[None]:
    """Bounds each test: a test that hangs dumps its threads' stacks and ends the run."""
    faulthandler.dump_traceback_later(TEST_TIME_LIMIT, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture
def short_dir() -> Iterator[str]:
    """A fresh directory with a short path (ipc endpoints are limited to about 107 bytes)."""
    directory = tempfile.mkdtemp(prefix="bw-", dir="/tmp")
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def broker(short_dir: str) -> Iterator[FakeBroker]:
    """A fake broker: a ROUTER socket bound on ipc, as Baton's backend is."""
    fake = FakeBroker(f"ipc://{short_dir}/backend")
    yield fake
    fake.close()


@pytest.fixture
def spawn(broker: FakeBroker) -> Iterator:
    """``spawn(handler, **options)`` runs a worker against the fake broker on a thread; every worker still
    running at the end of the test is stopped."""
    from fake_broker import start

    running = []

    def run(handler=None, **options):
        worker = start(broker, handler, **options)
        running.append(worker)
        return worker

    yield run
    for worker in running:
        worker.worker.stop()
        worker.thread.join(10)


@pytest.fixture(scope="session")
def broker_features():
    """What the broker under test supports, probed at run time (see probes.py)."""
    from probes import BrokerFeatures

    return BrokerFeatures()


@pytest.fixture
def needs(broker_features):
    """``needs("capacity")``: skips the test, with the reason, when the broker lacks the feature."""
    def check(*features: str) -> None:
        for feature in features:
            reason = broker_features.missing(feature)
            if reason:
                pytest.skip(reason)
    return check


@pytest.fixture
def serve(short_dir: str) -> Iterator:
    """``serve(workers, command, **options)``: a real ``baton serve`` in a short temporary directory (see
    live.py), killed with its workers at the end of the test."""
    from live import Serve

    started = []

    def start(workers, command, **options):
        instance = Serve(short_dir, workers, command, **options)
        started.append(instance)
        return instance

    yield start
    for instance in started:
        instance.close()
