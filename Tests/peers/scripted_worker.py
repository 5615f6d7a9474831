"""A managed worker written against pyzmq whose behaviour each request picks, so that a test can make a real
process hang, leave, or refuse a session handoff. It reads BATON_BACKEND, BATON_WORKER_ID (its routing id) and
BATON_HEARTBEAT_INTERVAL_MS as `baton serve` sets them, registers as a heartbeating DEALER worker of capacity 4, and answers:

- `[BATON-SESSION][key][...]`: the number of requests the key's session has seen (1, 2, 3...);
- `hang`: never (it goes on heartbeating, so only the request timeout ends it);
- `[wait-for][path]`: `done`, once a file exists at path (looked for at least once a heartbeat interval; other
  requests are served meanwhile);
- `leave`: `bye`, then DISCONNECT (0x03) and exit 0, as a worker that leaves on purpose;
- anything else: echoed.

EXPORT (0x05) is answered with the session's count, or with an error under --export-error; IMPORT (0x06) takes
a count; END (0x04) forgets a session. SIGTERM sends DISCONNECT and exits 0, --exit-delay-ms after it came.

    python3 scripted_worker.py [--handoff] [--export-error] [--no-ready] [--exit-delay-ms N]

--handoff declares the handoff capability; --no-ready connects but never says READY (a generation that never
becomes ready).
"""
import argparse
import os
import signal
import sys
import time

import zmq

READY, HEARTBEAT, DISCONNECT, END, EXPORT, IMPORT = b"\x01", b"\x02", b"\x03", b"\x04", b"\x05", b"\x06"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--handoff", action="store_true")
    parser.add_argument("--export-error", action="store_true")
    parser.add_argument("--no-ready", action="store_true")
    parser.add_argument("--exit-delay-ms", type=int, default=0)
    args = parser.parse_args()

    context = zmq.Context()
    worker = context.socket(zmq.DEALER)
    worker.setsockopt(zmq.LINGER, 1000)
    worker.setsockopt(zmq.IDENTITY, os.environ["BATON_WORKER_ID"].encode())
    worker.connect(os.environ["BATON_BACKEND"])
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    if not args.no_ready:
        worker.send_multipart([READY, b"4"] + ([b"handoff"] if args.handoff else []))
    interval = int(os.environ.get("BATON_HEARTBEAT_INTERVAL_MS", "1000")) / 1000
    next_heartbeat = time.monotonic() + interval
    sessions = {}
    waiting = []  # (token, path) of wait-for requests not answered yet
    while not stopping:
        for token, path in [entry for entry in waiting if os.path.exists(entry[1])]:
            worker.send_multipart([token, b"", b"done"])
            waiting.remove((token, path))
        if worker.poll(max(0, int((next_heartbeat - time.monotonic()) * 1000))):
            frames = worker.recv_multipart()
            kind = frames[0]
            if kind == END and len(frames) == 2:
                sessions.pop(frames[1], None)
            elif kind == EXPORT and len(frames) == 2:
                if args.export_error:
                    worker.send_multipart([EXPORT, frames[1], b"error", b"this generation cannot export"])
                else:
                    worker.send_multipart([EXPORT, frames[1], b"ok", b"%d" % sessions.get(frames[1], 0)])
            elif kind == IMPORT and len(frames) == 3:
                sessions[frames[1]] = int(frames[2] or b"0")
                worker.send_multipart([IMPORT, frames[1], b"ok"])
            elif len(frames) >= 3 and frames[1] == b"":
                token, body = frames[0], frames[2:]
                if body[0] == b"BATON-SESSION" and len(body) >= 3:
                    sessions[body[1]] = sessions.get(body[1], 0) + 1
                    worker.send_multipart([token, b"", b"%d" % sessions[body[1]]])
                elif body == [b"hang"]:
                    pass
                elif len(body) == 2 and body[0] == b"wait-for":
                    waiting.append((token, os.fsdecode(body[1])))
                elif body == [b"leave"]:
                    worker.send_multipart([token, b"", b"bye"])
                    worker.send(DISCONNECT)
                    break
                else:
                    worker.send_multipart([token, b""] + body)
        if time.monotonic() >= next_heartbeat and not args.no_ready:
            worker.send(HEARTBEAT)
            next_heartbeat = time.monotonic() + interval
        elif args.no_ready:
            next_heartbeat = time.monotonic() + interval
    if stopping:
        time.sleep(args.exit_delay_ms / 1000)
        worker.send(DISCONNECT)
    worker.close()
    context.term()
    return 0


if __name__ == "__main__":
    sys.exit(main())
