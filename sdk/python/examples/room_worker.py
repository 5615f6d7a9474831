"""A room worker: each session (a room) counts its requests. The reply to a session request is the number of
requests that session has seen, this one included, in ASCII decimal. The count moves to the new generation
on `baton reload` (handoff), so it goes on 1, 2, 3… across hot updates.

    baton serve --workers 4 -- python3 sdk/python/examples/room_worker.py
    baton call BATON-SESSION room-1 hello      # 1, then 2, 3, … from the same worker

Flags: --capacity K (default 8), --no-handoff (keep rooms on the old worker during a reload),
--work-ms N (simulated work per request), --backend EP (an external worker).
"""

import argparse
import logging
import sys
import time
from pathlib import Path

try:
    import baton_worker
except ImportError:  # run from a checkout without `pip install ./sdk/python`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import baton_worker


class Room(baton_worker.Session):
    """One room: a request counter."""

    work = 0.0

    def __init__(self, key: bytes) -> None:
        super().__init__(key)
        self.count = 0

    def handle(self, body):
        if self.work:
            time.sleep(self.work)
        self.count += 1
        return str(self.count)

    def export_state(self) -> bytes:
        return str(self.count).encode()

    @classmethod
    def import_state(cls, key: bytes, state: bytes) -> "Room":
        room = cls(key)
        room.count = int(state)
        return room


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--capacity", type=int, default=8)
    parser.add_argument("--no-handoff", action="store_true")
    parser.add_argument("--work-ms", type=float, default=0)
    parser.add_argument("--backend")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stdout)
    Room.work = args.work_ms / 1000
    worker = baton_worker.Worker(lambda body: body, sessions=Room, capacity=args.capacity,
                                 handoff=False if args.no_handoff else None, backend=args.backend)
    return worker.run()


if __name__ == "__main__":
    raise SystemExit(main())
