"""A bare pyzmq worker (no SDK) for probing what the broker under test supports: it declares capacity and
capabilities in READY as given, heartbeats, echoes requests, answers EXPORT and IMPORT with "ok", and prints
one line per message kind it receives (to its slot log when managed).

    python3 probe_worker.py [--capacity K] [--handoff]   (backend and id from Baton's environment)
"""

import argparse
import os
import signal
import sys
import time

import zmq


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--capacity", type=int, default=1)
    parser.add_argument("--handoff", action="store_true")
    args = parser.parse_args()
    interval = int(os.environ.get("BATON_HEARTBEAT_INTERVAL_MS", "1000")) / 1000
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    context = zmq.Context()
    socket = context.socket(zmq.DEALER)
    socket.setsockopt(zmq.LINGER, 0)
    socket.setsockopt(zmq.ROUTING_ID, os.environ["BATON_WORKER_ID"].encode())
    socket.connect(os.environ["BATON_BACKEND"])
    ready = [b"\x01", str(args.capacity).encode()] + ([b"handoff"] if args.handoff else [])
    socket.send_multipart(ready)
    next_heartbeat = time.monotonic() + interval
    while not stop:
        if socket.poll(int(interval * 250)):
            frames = socket.recv_multipart()
            kind = frames[0]
            if len(frames) >= 3 and frames[1] == b"":
                print("request", flush=True)
                socket.send_multipart(frames)
            elif kind == b"\x05":
                print("export", flush=True)
                socket.send_multipart([kind, frames[1], b"ok", b"0"])
            elif kind == b"\x06":
                print("import", flush=True)
                socket.send_multipart([kind, frames[1], b"ok"])
            elif kind == b"\x04":
                print("end", flush=True)
        if time.monotonic() >= next_heartbeat:
            socket.send(b"\x02")
            next_heartbeat = time.monotonic() + interval
    socket.send(b"\x03")
    socket.close(linger=500)
    context.term()
    return 0


if __name__ == "__main__":
    sys.exit(main())
