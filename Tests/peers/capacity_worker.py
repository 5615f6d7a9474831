"""A DEALER worker that serves several requests at once, written against pyzmq: the capacity side of Baton's
worker protocol, version 2 (docs/protocol.md 2.4), as a template for event-loop workers in other languages.

    python3 capacity_worker.py [BACKEND] [--identity ID] [--capacity K] [--capabilities WORDS]
                               [--work-ms N] [--hold N] [--release-file PATH]

- Connects to BACKEND, else $BATON_BACKEND; uses $BATON_WORKER_ID (or --identity) as its routing id.
- Sends READY with its capacity, [0x01][K] (and [WORDS] if given), then HEARTBEAT (0x02) every
  $BATON_HEARTBEAT_INTERVAL_MS (default 1000). Heartbeats never wait for requests: the work is simulated
  by timers on one event loop, so requests overlap.
- Echoes each request [token][""][frame…] as [token][""][frame…], --work-ms after it arrived (0: at once).
- --hold N: answers nothing until it holds N requests at once, prints "held N", then (once --release-file
  exists, if given) answers those N, newest first; later requests are served as above.
- Holding more than K requests at once breaks the broker's side of the contract: it prints "over capacity"
  on stderr and exits 3.
- On SIGTERM or SIGINT: answers what it holds, sends DISCONNECT (0x03) and exits 0. Exits 1 when the broker
  has been silent for its liveness window (its supervisor is gone).
"""
import argparse
import heapq
import os
import signal
import sys
import time

import zmq

READY, HEARTBEAT, DISCONNECT = b"\x01", b"\x02", b"\x03"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("backend", nargs="?", default=os.environ.get("BATON_BACKEND"))
    parser.add_argument("--identity", default=os.environ.get("BATON_WORKER_ID"))
    parser.add_argument("--capacity", type=int, default=8)
    parser.add_argument("--capabilities")
    parser.add_argument("--work-ms", type=float, default=0)
    parser.add_argument("--hold", type=int, default=0)
    parser.add_argument("--release-file")
    args = parser.parse_args()
    if not args.backend:
        parser.error("no backend: give one or set BATON_BACKEND")
    interval = int(os.environ.get("BATON_HEARTBEAT_INTERVAL_MS") or os.environ.get("BATON_HEARTBEAT_MS") or 1000)
    liveness = int(os.environ.get("BATON_HEARTBEAT_LIVENESS") or 3)

    stop = []
    signal.signal(signal.SIGTERM, lambda number, frame: stop.append(number))
    signal.signal(signal.SIGINT, lambda number, frame: stop.append(number))

    context = zmq.Context()
    worker = context.socket(zmq.DEALER)
    worker.setsockopt(zmq.LINGER, 0)
    if args.identity:
        worker.setsockopt(zmq.IDENTITY, args.identity.encode())
    worker.connect(args.backend)
    ready = [READY, str(args.capacity).encode()]
    if args.capabilities:
        ready.append(args.capabilities.encode())
    worker.send_multipart(ready)
    print(f"ready capacity={args.capacity}", flush=True)

    held = []      # requests kept back by --hold, in arrival order
    timers = []    # (due, sequence, token, body): requests being "worked on"
    sequence = 0
    holding = args.hold > 0
    served = 0
    heard = time.monotonic()
    next_heartbeat = heard + interval / 1000
    status = 0

    def answer(token, body):
        nonlocal served
        worker.send_multipart([token, b""] + body)
        served += 1

    try:
        while not stop:
            now = time.monotonic()
            if now >= next_heartbeat:
                worker.send(HEARTBEAT)
                next_heartbeat = now + interval / 1000
            if now - heard > interval * liveness / 1000:
                print("broker silent: exiting", file=sys.stderr, flush=True)
                status = 1
                break
            while timers and timers[0][0] <= now:
                _, _, token, body = heapq.heappop(timers)
                answer(token, body)
            if holding and len(held) == args.hold and (not args.release_file or os.path.exists(args.release_file)):
                for token, body in reversed(held):
                    answer(token, body)
                held.clear()
                holding = False
            deadline = next_heartbeat
            if timers:
                deadline = min(deadline, timers[0][0])
            wait_ms = max(0, min(50, int((deadline - time.monotonic()) * 1000)))
            if not worker.poll(wait_ms):
                continue
            while worker.poll(0):
                frames = worker.recv_multipart()
                heard = time.monotonic()
                if frames == [HEARTBEAT]:
                    continue
                if len(frames) < 3 or frames[1] != b"":
                    print(f"unexpected message of {len(frames)} frames", file=sys.stderr, flush=True)
                    continue
                if len(held) + len(timers) >= args.capacity:
                    print(f"over capacity: a request beyond {args.capacity} in flight", file=sys.stderr, flush=True)
                    return 3
                token, body = frames[0], frames[2:]
                if holding:
                    held.append((token, body))
                    if len(held) == args.hold:
                        print(f"held {len(held)}", flush=True)
                elif args.work_ms > 0:
                    sequence += 1
                    heapq.heappush(timers, (heard + args.work_ms / 1000, sequence, token, body))
                else:
                    answer(token, body)
        if status == 0:
            for _, _, token, body in sorted(timers):
                answer(token, body)
            for token, body in held:
                answer(token, body)
            # Goodbye: the broker removes this worker at once. Linger so the messages leave before the close.
            worker.setsockopt(zmq.LINGER, 1000)
            worker.send(DISCONNECT)
            print(f"leaving after {served} requests", flush=True)
    finally:
        worker.close()
        context.term()
    return status


if __name__ == "__main__":
    sys.exit(main())
