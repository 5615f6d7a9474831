"""A heartbeating worker in the Paranoid Pirate style, written against pyzmq: the DEALER side of Baton's
worker protocol (docs/protocol.md, docs/workers.md), as a template for workers in other languages.

    python3 heartbeat_worker.py [BACKEND] [--prefix TEXT] [--identity ID] [--delay-ms N] [--leave-after N]

- Connects to BACKEND, else $BATON_BACKEND; uses $BATON_WORKER_ID (or --identity) as its routing id.
- Sends READY (0x01), then HEARTBEAT (0x02) every $BATON_HEARTBEAT_INTERVAL_MS (default 1000) while idle.
  It serves on one thread, so it sends no heartbeat while a request runs: a request that runs longer than
  interval × $BATON_HEARTBEAT_LIVENESS gets it dropped as hung. Move the work to another thread (as
  BatonWorker does) if requests can run that long.
- Echoes each request [token][""][frame…] as [token][""][prefix + first frame][other frames…].
- On SIGTERM or SIGINT, after the request in hand: sends DISCONNECT (0x03) and exits 0. --leave-after N does
  the same after N requests (a worker that recycles itself); Baton starts another without counting a crash.
- Exits 1 when the broker has been silent for its liveness window (its supervisor is gone).
"""
import argparse
import os
import signal
import sys
import time

import zmq

READY, HEARTBEAT, DISCONNECT = b"\x01", b"\x02", b"\x03"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("backend", nargs="?", default=os.environ.get("BATON_BACKEND"))
    parser.add_argument("--prefix", default="")
    parser.add_argument("--identity", default=os.environ.get("BATON_WORKER_ID"))
    parser.add_argument("--delay-ms", type=int, default=0)
    parser.add_argument("--leave-after", type=int, default=0)
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
    worker.send(READY)
    print(f"ready interval_ms={interval} liveness={liveness}", flush=True)
    poller = zmq.Poller()
    poller.register(worker, zmq.POLLIN)
    served = 0
    heard = time.monotonic()
    next_heartbeat = heard + interval / 1000
    status = 0
    try:
        while not stop and not (args.leave_after and served >= args.leave_after):
            now = time.monotonic()
            if now >= next_heartbeat:
                worker.send(HEARTBEAT)
                next_heartbeat = now + interval / 1000
            if now - heard > interval * liveness / 1000:
                print("broker silent: exiting", file=sys.stderr, flush=True)
                status = 1
                break
            # Short polls, so a signal is noticed promptly.
            if not poller.poll(min(100, max(0, int((next_heartbeat - now) * 1000)) + 1)):
                continue
            frames = worker.recv_multipart()
            heard = time.monotonic()
            if frames == [HEARTBEAT]:
                continue
            if len(frames) < 3 or frames[1] != b"":
                print(f"unexpected message of {len(frames)} frames", file=sys.stderr, flush=True)
                continue
            token, body = frames[0], frames[2:]
            if args.delay_ms:
                time.sleep(args.delay_ms / 1000)
            worker.send_multipart([token, b"", args.prefix.encode() + body[0], *body[1:]])
            served += 1
        if status == 0:
            # Goodbye: the broker removes this worker at once. Linger so the message leaves before the close.
            worker.setsockopt(zmq.LINGER, 1000)
            worker.send(DISCONNECT)
            print(f"leaving after {served} requests", flush=True)
    finally:
        worker.close()
        context.term()
    return status


if __name__ == "__main__":
    sys.exit(main())
