"""An echo worker: replies to each request with its frames unchanged, so `baton bench` can check every reply.

    baton serve --workers 4 -- python3 sdk/python/examples/echo_worker.py --capacity 8

Flags: --capacity K (requests served at once), --work-ms N (simulated work per request: a sleep),
--async (an `async def` handler on asyncio instead of a thread pool), --log-requests (log each request as
it starts), --fail-on N (request number N raises on purpose: its client gets BATON-ERR handler-error),
--backend EP (an external worker: connect here instead of $BATON_BACKEND).
"""

import argparse
import asyncio
import itertools
import logging
import sys
import time
from pathlib import Path

try:
    import baton_worker
except ImportError:  # run from a checkout without `pip install ./sdk/python`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import baton_worker


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--capacity", type=int, default=1)
    parser.add_argument("--work-ms", type=float, default=0)
    parser.add_argument("--async", dest="use_async", action="store_true")
    parser.add_argument("--log-requests", action="store_true")
    parser.add_argument("--fail-on", type=int, metavar="N")
    parser.add_argument("--backend")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stdout)
    work = args.work_ms / 1000
    log = logging.getLogger("echo") if args.log_requests else None
    served = itertools.count(1)

    def start(body):
        if log:
            log.info("request of %d frame(s)", len(body))
        number = next(served)  # atomic under the GIL
        if number == args.fail_on:
            raise RuntimeError(f"request {number} failed on purpose (--fail-on)")

    def echo(body):
        start(body)
        if work:
            time.sleep(work)
        return body

    async def echo_async(body):
        start(body)
        if work:
            await asyncio.sleep(work)
        return body

    worker = baton_worker.Worker(echo_async if args.use_async else echo, capacity=args.capacity,
                                 backend=args.backend)
    return worker.run()


if __name__ == "__main__":
    raise SystemExit(main())
