"""A worker whose handler fails on request: a fixture of the handler-error tests.

    python3 handler_error_worker.py [--capacity K] [--max-handler-errors N] [--gates DIR] [--backend EP]
                                    [--worker-id ID]

Each reply is ``[name][body…]`` with ``name`` the worker id (or ``slot-N``). A request whose first frame is
``boom`` raises; with ``--gates``, a request whose first frame is ``boom`` or starts with ``b`` first waits
until a file of that name exists in DIR, so the test decides when it runs on.
"""

import argparse
import os
import sys
import time
from pathlib import Path
from typing import List, Optional

try:
    import baton_worker
except ImportError:  # run from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import baton_worker


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--capacity", type=int, default=1)
    parser.add_argument("--max-handler-errors", type=int)
    parser.add_argument("--gates")
    parser.add_argument("--backend")
    parser.add_argument("--worker-id")
    args = parser.parse_args()
    name = (args.worker_id or f"slot-{os.environ.get('BATON_SLOT', '?')}").encode()
    gates: Optional[Path] = Path(args.gates) if args.gates else None

    def wait_for(gate: str) -> None:
        if gates is None:
            return
        deadline = time.monotonic() + 60
        while not (gates / gate).exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"gate {gate} never opened")
            time.sleep(0.01)

    def handle(body: List[bytes]) -> List[bytes]:
        first = body[0].decode(errors="replace")
        if first == "boom" or first.startswith("b"):
            wait_for(first)
        if first == "boom":
            raise RuntimeError("boom: a detail the client must not see")
        return [name, *body]

    options = {} if args.max_handler_errors is None else {"max_handler_errors": args.max_handler_errors}
    worker = baton_worker.Worker(handle, capacity=args.capacity, backend=args.backend, worker_id=args.worker_id,
                                 **options)
    return worker.run()


if __name__ == "__main__":
    raise SystemExit(main())
