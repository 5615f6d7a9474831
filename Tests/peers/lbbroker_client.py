"""A client in the classic zguide lbbroker style, written against pyzmq: a REQ socket that sends requests
one at a time and prints each reply. Exits 1 on a timeout or a wrong reply.

    python3 lbbroker_client.py FRONTEND COUNT [--expect-prefix TEXT]  (a reply must start with TEXT and end with the request) [--timeout-ms N]
                               [--server-key FILE.pub --curve-key FILE.key]  (CURVE, keys from `baton keygen`)
"""
import argparse
import sys

import zmq

from curve_keys import add_curve_arguments, use_curve


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("frontend")
    parser.add_argument("count", type=int)
    parser.add_argument("--expect-prefix", default="")
    parser.add_argument("--timeout-ms", type=int, default=5000)
    add_curve_arguments(parser)
    args = parser.parse_args()

    context = zmq.Context()
    client = context.socket(zmq.REQ)
    client.setsockopt(zmq.LINGER, 0)
    client.setsockopt(zmq.RCVTIMEO, args.timeout_ms)
    use_curve(client, args)
    client.connect(args.frontend)
    failures = 0
    try:
        for index in range(args.count):
            request = f"hello {index}".encode()
            client.send(request)
            try:
                reply = client.recv()
            except zmq.Again:
                print(f"timeout waiting for reply {index}", file=sys.stderr)
                return 1
            if not (reply.startswith(args.expect_prefix.encode()) and reply.endswith(request)):
                print(f"wrong reply {reply!r} to {request!r}", file=sys.stderr)
                failures += 1
            print(reply.decode(errors="replace"), flush=True)
    finally:
        client.close()
        context.term()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
