"""A session client against pyzmq: one DEALER socket drives KEYS sessions (`BATON-SESSION`, key), keeping one
request in flight per key, and checks the session-counter worker's replies: the n-th request of a session
is answered "n". A `session-lost` error starts the key over at 1 (a new session).

    python3 session_client.py FRONTEND --keys N [--requests-per-key M | --stop-file PATH] [--ready-file PATH]
                              [--timeout-ms N] [--key-prefix TEXT]

Prints one JSON object: requests sent, replies, errors by code, counting violations (a reset or a gap),
the keys that saw `session-lost` and how often, and reply latency (p50, p99, max in ms). Exits 1 if a
reply timed out.
"""
import argparse
import json
import os
import sys
import time

import zmq


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("frontend")
    parser.add_argument("--keys", type=int, default=20)
    parser.add_argument("--requests-per-key", type=int, default=0)
    parser.add_argument("--stop-file")
    parser.add_argument("--ready-file")
    parser.add_argument("--timeout-ms", type=int, default=15000)
    parser.add_argument("--key-prefix", default="room-")
    args = parser.parse_args()

    context = zmq.Context()
    client = context.socket(zmq.DEALER)
    client.setsockopt(zmq.LINGER, 0)
    client.connect(args.frontend)
    keys = [f"{args.key_prefix}{index}".encode() for index in range(args.keys)]
    expected = {key: 1 for key in keys}
    sent_at = {}
    sent = replies = 0
    errors = {}
    violations = []
    lost = {}
    latencies = []
    answered_once = set()
    stopping = False

    def send(key):
        nonlocal sent
        client.send_multipart([key, b"", b"BATON-SESSION", key, b"tick"])
        sent_at[key] = time.monotonic()
        sent += 1

    for key in keys:
        send(key)
    poller = zmq.Poller()
    poller.register(client, zmq.POLLIN)
    status = 0
    while sent_at:
        if not stopping:
            if args.stop_file and os.path.exists(args.stop_file):
                stopping = True
        if not poller.poll(args.timeout_ms if stopping else 100):
            if stopping or any(time.monotonic() - at > args.timeout_ms / 1000 for at in sent_at.values()):
                print(f"timeout: {len(sent_at)} requests unanswered", file=sys.stderr)
                status = 1
                break
            continue
        frames = client.recv_multipart()
        key, body = frames[0], frames[2:]
        started = sent_at.pop(key, None)
        if started is None:
            violations.append(f"unexpected reply for {key!r}")
            continue
        replies += 1
        latencies.append((time.monotonic() - started) * 1000)
        if body and body[0] == b"BATON-ERR":
            code = body[1].decode()
            errors[code] = errors.get(code, 0) + 1
            if code == "session-lost":
                lost[key.decode()] = lost.get(key.decode(), 0) + 1
                expected[key] = 1
        else:
            count = int(body[0]) if body and body[0].isdigit() else -1
            if count != expected[key]:
                violations.append(f"{key.decode()}: expected {expected[key]}, got {body[0]!r}")
            expected[key] = count + 1 if count > 0 else expected[key] + 1
        answered_once.add(key)
        if args.ready_file and len(answered_once) == len(keys) and not os.path.exists(args.ready_file):
            open(args.ready_file, "w").close()
        done = args.requests_per_key and expected[key] > args.requests_per_key and key not in lost
        if not stopping and not done:
            send(key)
    latencies.sort()

    def quantile(q):
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))], 3) if latencies else None

    print(json.dumps({"sent": sent, "replies": replies, "errors": errors, "violations": violations[:20],
                      "violation_count": len(violations), "lost": lost,
                      "latency_ms": {"p50": quantile(0.5), "p99": quantile(0.99),
                                     "max": round(latencies[-1], 3) if latencies else None}}), flush=True)
    client.close()
    context.term()
    return status


if __name__ == "__main__":
    sys.exit(main())
