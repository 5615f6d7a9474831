"""A pipelining client that reads every reply: one DEALER socket sends N requests at once (each with its own
number, optionally all in one session), then reads continuously with no receive high-water mark.

    python3 burst_client.py FRONTEND --requests N [--session KEY] [--ready-file PATH] [--quiet-ms N]

Writes READY-FILE once every request is sent. Stops when every request has an answer, or when no answer came
for QUIET-MS. Prints one JSON object: requests sent, answers received, worker replies, errors by code, and
the request numbers answered twice (none expected).
"""
import argparse
import json
import sys

import zmq


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("frontend")
    parser.add_argument("--requests", type=int, required=True)
    parser.add_argument("--session")
    parser.add_argument("--ready-file")
    parser.add_argument("--quiet-ms", type=int, default=20000)
    args = parser.parse_args()

    context = zmq.Context()
    client = context.socket(zmq.DEALER)
    client.setsockopt(zmq.LINGER, 0)
    client.setsockopt(zmq.SNDHWM, 0)
    client.setsockopt(zmq.RCVHWM, 0)
    client.connect(args.frontend)
    prefix = [b"BATON-SESSION", args.session.encode()] if args.session else []
    for number in range(args.requests):
        client.send_multipart([b""] + prefix + [str(number).encode()])
    if args.ready_file:
        open(args.ready_file, "w").close()

    answered = {}
    replies = 0
    errors = {}
    while len(answered) < args.requests:
        if not client.poll(args.quiet_ms, zmq.POLLIN):
            break
        frames = client.recv_multipart()
        body = frames[1:]
        if body and body[0] == b"BATON-ERR":
            code = body[1].decode() if len(body) > 1 else "?"
            errors[code] = errors.get(code, 0) + 1
            key = ("err", errors[code])
        else:
            replies += 1
            key = body[-1] if body else b""
        answered[key] = answered.get(key, 0) + 1
    duplicates = sorted(str(k) for k, n in answered.items() if n > 1)
    print(json.dumps({"sent": args.requests, "answers": replies + sum(errors.values()), "replies": replies,
                      "errors": errors, "duplicates": duplicates}))
    sys.stdout.flush()
    client.close()
    context.term()


if __name__ == "__main__":
    main()
