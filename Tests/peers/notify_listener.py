"""Listens on a Unix datagram socket like systemd's NOTIFY_SOCKET and prints each message on one line.

    python3 notify_listener.py PATH
"""
import os
import socket
import sys

path = sys.argv[1]
if os.path.exists(path):
    os.unlink(path)
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
print("listening", flush=True)
while True:
    data = sock.recv(4096)
    print(data.decode(errors="replace").replace("\n", " "), flush=True)
