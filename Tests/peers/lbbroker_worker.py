"""A worker in the classic zguide lbbroker style, written against pyzmq: a REQ socket that sends READY,
then echoes each request [address][""][frame…] as [address][""][prefix + first frame][other frames…], so a
request of any number of frames gets all of them back. Used by Baton's tests as a third-party ZeroMQ peer.

    python3 lbbroker_worker.py BACKEND [--prefix TEXT] [--identity ID] [--delay-ms N] [--delay-first-ms N]
"""
import argparse
import sys
import time

import zmq


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("backend")
    parser.add_argument("--prefix", default="")
    parser.add_argument("--identity")
    parser.add_argument("--delay-ms", type=int, default=0)
    parser.add_argument("--delay-first-ms", type=int, default=0, help="sleep this long before the first reply only")
    args = parser.parse_args()

    context = zmq.Context()
    worker = context.socket(zmq.REQ)
    worker.setsockopt(zmq.LINGER, 0)
    if args.identity:
        worker.setsockopt(zmq.IDENTITY, args.identity.encode())
    worker.connect(args.backend)
    worker.send(b"READY")
    print("ready", flush=True)
    first = True
    try:
        while True:
            address, empty, *body = worker.recv_multipart()
            if first and args.delay_first_ms:
                time.sleep(args.delay_first_ms / 1000)
            first = False
            if args.delay_ms:
                time.sleep(args.delay_ms / 1000)
            if empty != b"" or not body:
                body = [b"malformed request"]
            worker.send_multipart([address, b"", args.prefix.encode() + body[0], *body[1:]])
    except (KeyboardInterrupt, zmq.ContextTerminated):
        pass
    finally:
        worker.close()
        context.term()


if __name__ == "__main__":
    sys.exit(main())
