#!/usr/bin/env python3
"""Measures sessions: what sticky routing costs the broker, and the pause a session sees during a handoff.

    bench/session_bench.py [--baton .build/release/baton] [--runs 5] [--duration 5] [--keys 1000]

1. Routing cost. `baton serve --workers 4` with the example (echo) worker; `baton bench` alternately without
   and with `--sessions` (one session per client and window slot), at 16×1 (capacity-1 workers: the LRU
   path) and 4×32 (capacity-32 workers: shortest expected delay). Reports median req/s, p50, p99 and the
   broker process's CPU time per request (utime + stime from /proc/PID/stat over the run).
2. Handoff pause. 4 workers running `--session-counter --capacity 64`; KEYS sessions driven by
   Tests/peers/session_client.py (one request in flight per key, counts checked) through `baton reload`.
   Reports the handoff pauses recorded in the history database (handoff.pause_us: from the start of a
   session's move to the release of its held requests), the client's latency and any error or gap.
"""
import argparse
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.join(HERE, "..", "Tests", "peers", "session_client.py")


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Serve:
    def __init__(self, baton, worker_args, workers=4, extra=()):
        self.baton = baton
        self.tmp = tempfile.mkdtemp(prefix="bsb-", dir="/tmp")
        self.state = f"{self.tmp}/state"
        self.fe = f"ipc://{self.tmp}/fe"
        self.proc = subprocess.Popen([baton, "serve", "--frontend", self.fe, "--state-dir", self.state,
                                      "--workers", str(workers), "--log-level", "warning", *extra, "--",
                                      *worker_args], stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while time.time() < deadline:
            status = self.status()
            if status and len(status["slots"]) == workers and all(s["state"] == "ready" for s in status["slots"]):
                return
            time.sleep(0.1)
        raise SystemExit("serve did not become ready")

    def status(self):
        out = subprocess.run([self.baton, "status", "--state-dir", self.state, "--json"], capture_output=True,
                             text=True)
        return json.loads(out.stdout) if out.returncode == 0 else None

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)


def bench(serve, clients, window, duration, sessions):
    before = cpu_seconds(serve.proc.pid)
    args = [serve.baton, "bench", "--frontend", serve.fe, "--clients", str(clients), "--window", str(window),
            "--duration", str(duration), "--json"] + (["--sessions"] if sessions else [])
    out = subprocess.run(args, capture_output=True, text=True)
    cpu = cpu_seconds(serve.proc.pid) - before
    report = json.loads(out.stdout)
    assert report["lost"] == 0 and report["mismatched"] == 0 and not report["errors"], report
    return {"rps": report["throughput"], "p50": report["p50"], "p99": report["p99"],
            "cpu_us": cpu * 1e6 / max(report["sent"], 1)}


def routing_cost(args, worker):
    rows = []
    for clients, window, capacity in [(16, 1, 1), (4, 32, 32)]:
        serve = Serve(args.baton, [worker, "--capacity", str(capacity)])
        results = {False: [], True: []}
        for _ in range(args.runs):
            for sessions in (False, True):
                results[sessions].append(bench(serve, clients, window, args.duration, sessions))
        serve.stop()
        for sessions in (False, True):
            runs = results[sessions]
            rows.append({"load": f"{clients}x{window}", "capacity": capacity,
                         "mode": "sessions" if sessions else "stateless",
                         **{k: statistics.median(r[k] for r in runs) for k in ("rps", "p50", "p99", "cpu_us")}})
    return rows


def handoff_pause(args, worker):
    serve = Serve(args.baton, [worker, "--session-counter", "--capacity", "64"])
    stop = f"{serve.tmp}/stop"
    ready = f"{serve.tmp}/ready"
    client = subprocess.Popen([sys.executable, CLIENT, serve.fe, "--keys", str(args.keys), "--stop-file", stop,
                               "--ready-file", ready], stdout=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not os.path.exists(ready) and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(1)
    started = time.time()
    reload = subprocess.run([args.baton, "reload", "--state-dir", serve.state], capture_output=True, text=True)
    wall = time.time() - started
    time.sleep(1)
    open(stop, "w").close()
    report = json.loads(client.communicate(timeout=60)[0].strip().splitlines()[-1])
    serve.stop()
    db = sqlite3.connect(f"{serve.state}/baton.sqlite")
    pauses = [row[0] / 1000 for row in db.execute("SELECT pause_us FROM handoff WHERE outcome = 'moved'")]
    failed = db.execute("SELECT count(*) FROM handoff WHERE outcome = 'failed'").fetchone()[0]
    return {"reload_status": reload.returncode, "reload_seconds": round(wall, 2), "moved": len(pauses),
            "failed": failed, "pause_ms": {"p50": round(percentile(pauses, 0.5), 3),
                                           "p99": round(percentile(pauses, 0.99), 3),
                                           "max": round(max(pauses), 3) if pauses else None},
            "client": {k: report[k] for k in ("sent", "replies", "errors", "violation_count", "latency_ms")}}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--baton", default=".build/release/baton")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--duration", type=float, default=5)
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--only", choices=["routing", "handoff"])
    args = parser.parse_args()
    worker = os.path.join(os.path.dirname(args.baton), "baton-example-worker")
    result = {}
    if args.only != "handoff":
        result["routing"] = routing_cost(args, worker)
    if args.only != "routing":
        result["handoff"] = handoff_pause(args, worker)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
