#!/usr/bin/env python3
"""Measures Baton's supervisor: time from a worker's death to its replacement's READY, and the
supervisor's own CPU and memory with many idle workers.

    bench/supervisor_bench.py [--baton .build/release/baton] [--kills 100] [--idle-workers 64] [--idle-seconds 30]

Restart latency: `baton serve --workers 4 --restart-delay 0` (no backoff, so the figure is spawn + exec +
connect + READY), then --kills times: pick a slot round-robin, SIGKILL its worker, and poll the control
socket (pyzmq, about every 0.5 ms) until the slot is `ready` with a new pid. Reports p50/p99/max.
With the default policy a first crash adds the 100 ms (± 20 %) backoff on top.

Idle cost: `baton serve --workers N`, wait until all are ready, then read the supervisor's CPU time and
RSS from /proc over --idle-seconds (heartbeats every second each way are the only traffic).
"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import zmq

TICKS = os.sysconf("SC_CLK_TCK")


def status(sock):
    sock.send_multipart([b"", b"status"])
    if not sock.poll(2000):
        raise RuntimeError("no status reply")
    frames = sock.recv_multipart()
    return json.loads(frames[2])


def start(baton, state, workers, extra):
    proc = subprocess.Popen([baton, "serve", "--frontend", f"ipc://{state}/fe", "--state-dir", state,
                             "--workers", str(workers), "--log-level", "warning"] + extra,
                            stderr=subprocess.DEVNULL)
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(f"ipc://{state}/control.ipc")
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            report = status(sock)
            if len(report["slots"]) == workers and all(s["state"] == "ready" for s in report["slots"]):
                return proc, sock
        except RuntimeError:
            pass
        time.sleep(0.05)
    raise RuntimeError("workers never became ready")


def restart_latency(baton, kills, extra):
    with tempfile.TemporaryDirectory(prefix="bsup-", dir="/tmp") as state:
        proc, sock = start(baton, state, 4, extra)
        samples = []
        try:
            for index in range(kills):
                slot = index % 4
                victim = status(sock)["slots"][slot]["pid"]
                t0 = time.monotonic()
                os.kill(victim, signal.SIGKILL)
                while True:
                    s = status(sock)["slots"][slot]
                    if s["state"] == "ready" and s.get("pid") != victim:
                        break
                    if time.monotonic() - t0 > 30:
                        raise RuntimeError(f"slot {slot + 1} did not come back: {s}")
                    time.sleep(0.0005)
                samples.append((time.monotonic() - t0) * 1000)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    samples.sort()
    p = lambda q: samples[min(len(samples) - 1, int(q * len(samples)))]
    return {"kills": len(samples), "p50_ms": round(p(0.50), 1), "p99_ms": round(p(0.99), 1),
            "max_ms": round(samples[-1], 1), "mean_ms": round(statistics.mean(samples), 1)}


def idle_cost(baton, workers, seconds):
    with tempfile.TemporaryDirectory(prefix="bsup-", dir="/tmp") as state:
        proc, sock = start(baton, state, workers, [])
        try:
            time.sleep(2)
            with open(f"/proc/{proc.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            cpu0 = (int(fields[11]) + int(fields[12])) / TICKS
            time.sleep(seconds)
            with open(f"/proc/{proc.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            cpu1 = (int(fields[11]) + int(fields[12])) / TICKS
            rss = threads = None
            with open(f"/proc/{proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss = int(line.split()[1]) / 1024
                    if line.startswith("Threads:"):
                        threads = int(line.split()[1])
            ready = sum(1 for s in status(sock)["slots"] if s["state"] == "ready")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    return {"workers": workers, "ready": ready, "seconds": seconds,
            "cpu_percent": round((cpu1 - cpu0) / seconds * 100, 2), "rss_mib": round(rss, 1), "threads": threads}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--baton", default=".build/release/baton")
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--idle-workers", type=int, default=64)
    parser.add_argument("--idle-seconds", type=float, default=30)
    args = parser.parse_args()
    print("restart, no backoff:", restart_latency(args.baton, args.kills, ["--restart-delay", "0",
                                                                          "--max-crashes", "100000"]), flush=True)
    print("idle:", idle_cost(args.baton, args.idle_workers, args.idle_seconds), flush=True)


if __name__ == "__main__":
    sys.exit(main())
