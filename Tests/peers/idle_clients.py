"""Opens COUNT DEALER clients to a broker's frontend as fast as it can, each sending one request, then
counts the replies that arrive within --wait-ms and keeps the connections open for --hold-ms more.
Used by Baton's tests to put a burst of connections on a supervisor with few descriptors.

    python3 idle_clients.py FRONTEND COUNT [--wait-ms N] [--hold-ms N]
"""
import argparse
import sys
import time

import zmq


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("frontend")
    parser.add_argument("count", type=int)
    parser.add_argument("--wait-ms", type=int, default=3000)
    parser.add_argument("--hold-ms", type=int, default=0)
    args = parser.parse_args()

    context = zmq.Context()
    context.set(zmq.MAX_SOCKETS, args.count + 16)
    clients = []
    poller = zmq.Poller()
    for index in range(args.count):
        client = context.socket(zmq.DEALER)
        client.setsockopt(zmq.LINGER, 0)
        client.connect(args.frontend)
        client.send_multipart([b"", b"burst %d" % index])
        poller.register(client, zmq.POLLIN)
        clients.append(client)
    print("connected", flush=True)
    replies = 0
    deadline = time.time() + args.wait_ms / 1000
    while time.time() < deadline:
        for client, _ in poller.poll(100):
            client.recv_multipart()
            replies += 1
    print(f"replies {replies}", flush=True)
    time.sleep(args.hold_ms / 1000)
    for client in clients:
        client.close()
    context.term()


if __name__ == "__main__":
    sys.exit(main())
