"""How other threads wake the socket thread: finished jobs go into a queue, and a pipe in the socket
thread's poll is written only while that thread sleeps. Signals use the same pipe (``signal.set_wakeup_fd``)."""

from __future__ import annotations

import collections
import os
import threading
from typing import Any, Deque, Tuple


class Wake:
    """The results queue and the wake pipe of one socket thread."""

    def __init__(self) -> None:
        self.results: Deque[Tuple[Any, bool, Any]] = collections.deque()
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.read_fd, False)
        os.set_blocking(self.write_fd, False)
        self.sleeping = False
        """Set by the socket thread before it looks at ``results`` one last time and polls: from then on a
        finished job writes to the pipe, so none is missed."""
        self._lock = threading.Lock()  # a late wake must not write to a closed (or reused) descriptor

    def finished(self, job: Any, ok: bool, value: Any) -> None:
        """From any thread: a job finished."""
        self.results.append((job, ok, value))
        if self.sleeping:
            self.wake()

    def wake(self) -> None:
        """From any thread: makes the socket thread's poll return."""
        with self._lock:
            if self.write_fd < 0:
                return
            try:
                os.write(self.write_fd, b"\0")
            except BlockingIOError:
                pass  # the pipe is full, so the socket thread is awake anyway

    def drain(self) -> None:
        """Empties the pipe (the socket thread, after its poll)."""
        try:
            while os.read(self.read_fd, 4096):
                pass
        except BlockingIOError:
            pass

    def close(self) -> None:
        """Closes the pipe; later wakes do nothing."""
        with self._lock:
            os.close(self.read_fd)
            os.close(self.write_fd)
            self.write_fd = -1
