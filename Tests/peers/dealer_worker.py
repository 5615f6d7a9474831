"""A heartbeating worker in the Paranoid Pirate style, written against pyzmq: a DEALER socket that sends
READY (0x01), heartbeats (0x02) every interval, and echoes each request [token][""][body...] as
[token][""][body...]. Used by Baton's tests as a third-party ZeroMQ peer.

    python3 dealer_worker.py BACKEND [--identity ID] [--heartbeat-ms N] [--wrong-token]

--wrong-token answers with a token that is not the request's (a buggy worker), so no reply matches.
"""
import argparse
import sys
import time

import zmq


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("backend")
    parser.add_argument("--identity")
    parser.add_argument("--heartbeat-ms", type=int, default=1000)
    parser.add_argument("--wrong-token", action="store_true")
    args = parser.parse_args()

    context = zmq.Context()
    worker = context.socket(zmq.DEALER)
    worker.setsockopt(zmq.LINGER, 0)
    if args.identity:
        worker.setsockopt(zmq.IDENTITY, args.identity.encode())
    worker.connect(args.backend)
    worker.send(b"\x01")
    print("ready", flush=True)
    interval = args.heartbeat_ms / 1000
    next_heartbeat = time.monotonic() + interval
    try:
        while True:
            if worker.poll(max(0, int((next_heartbeat - time.monotonic()) * 1000))):
                frames = worker.recv_multipart()
                if len(frames) >= 3 and frames[1] == b"":
                    token = frames[0]
                    if args.wrong_token:
                        token = bytes(b ^ 0xFF for b in token)
                    worker.send_multipart([token, b""] + frames[2:])
                    print("answered", flush=True)
            if time.monotonic() >= next_heartbeat:
                worker.send(b"\x02")
                next_heartbeat = time.monotonic() + interval
    except (KeyboardInterrupt, zmq.ContextTerminated):
        pass
    finally:
        worker.close()
        context.term()


if __name__ == "__main__":
    sys.exit(main())
