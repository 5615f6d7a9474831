"""Where handlers run: inline on the socket thread (capacity 1, while a helper thread heartbeats), on a pool
of threads, or on an asyncio loop. Every runner reports a finished job through ``done(job, ok, value)``,
which may be called on any thread."""

from __future__ import annotations

import asyncio
import queue
import threading
from typing import Any, Callable, List, Optional

Done = Callable[[Any, bool, Any], None]
Claim = Optional[Callable[[Any], bool]]
"""Called just before a job starts, on the thread that runs it: False when the socket thread took the job back
(it will not run, and ``done`` is not called for it). None: every job runs."""


class ThreadRunner:
    """A fixed pool of daemon threads (daemon: a handler stuck past the drain timeout cannot keep the
    process from exiting)."""

    def __init__(self, threads: int, done: Done, claim: Claim = None) -> None:
        self._queue: "queue.SimpleQueue[Any]" = queue.SimpleQueue()
        self._done = done
        self._claim = claim
        self._threads = [threading.Thread(target=self._serve, name=f"baton-handler-{n + 1}", daemon=True)
                         for n in range(threads)]
        for thread in self._threads:
            thread.start()

    def submit(self, job: Any) -> None:
        """Runs ``job.call()`` on a free thread."""
        self._queue.put(job)

    def close(self) -> None:
        """Lets idle threads end; busy ones end after their job."""
        for _ in self._threads:
            self._queue.put(None)

    def _serve(self) -> None:
        get, done, claim = self._queue.get, self._done, self._claim
        while True:
            job = get()
            if job is None:
                return
            if claim is not None and not claim(job):
                continue
            try:
                value = job.call()
            except BaseException as error:  # noqa: B902 - reported to the socket thread, which decides
                done(job, False, error)
            else:
                done(job, True, value)


class AsyncRunner:
    """Runs coroutine jobs on an asyncio loop: a loop of its own on a daemon thread, or the caller's."""

    def __init__(self, done: Done, loop: Optional[asyncio.AbstractEventLoop] = None, claim: Claim = None) -> None:
        self._done = done
        self._claim = claim
        self._thread: Optional[threading.Thread] = None
        if loop is None:
            loop = asyncio.new_event_loop()
            started = threading.Event()

            def serve() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(started.set)
                loop.run_forever()

            self._thread = threading.Thread(target=serve, name="baton-asyncio", daemon=True)
            self._thread.start()
            started.wait()
        self.loop = loop

    def submit(self, job: Any) -> None:
        """Starts ``job.call()`` (a coroutine) as a task on the loop."""
        self.loop.call_soon_threadsafe(self._start, job)

    def _start(self, job: Any) -> None:
        if self._claim is not None and not self._claim(job):
            return
        try:
            task = self.loop.create_task(job.call())
        except BaseException as error:  # noqa: B902
            self._done(job, False, error)
            return
        task.add_done_callback(lambda finished: self._finished(job, finished))

    def _finished(self, job: Any, task: "asyncio.Task[Any]") -> None:
        if task.cancelled():
            self._done(job, False, asyncio.CancelledError())
        elif task.exception() is not None:
            self._done(job, False, task.exception())
        else:
            self._done(job, True, task.result())

    def close(self) -> None:
        """Stops the loop if it is this runner's own."""
        if self._thread is not None:
            self.loop.call_soon_threadsafe(self.loop.stop)


class InlineRunner:
    """Runs jobs on the socket thread itself, one at a time, with the socket lock released so that the
    heartbeat thread can send heartbeats meanwhile. The cheapest way to serve capacity 1: no thread switch
    per request."""

    def __init__(self, done: Done, lock: "threading.Lock", claim: Claim = None) -> None:
        self._pending: List[Any] = []
        self._done = done
        self._lock = lock
        self._claim = claim

    def submit(self, job: Any) -> None:
        """Queues ``job``; :meth:`run_pending` runs it."""
        self._pending.append(job)

    @property
    def has_pending(self) -> bool:
        """Whether a job waits for :meth:`run_pending`."""
        return bool(self._pending)

    def run_pending(self) -> None:
        """Runs the queued jobs (called by the socket thread, which holds the lock)."""
        while self._pending:
            job = self._pending.pop(0)
            if self._claim is not None and not self._claim(job):
                continue
            self._lock.release()
            try:
                value = job.call()
            except BaseException as error:  # noqa: B902
                ok, value = False, error
            else:
                ok = True
            finally:
                self._lock.acquire()
            self._done(job, ok, value)

    def close(self) -> None:
        """Nothing to stop."""
